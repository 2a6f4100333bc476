package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// configTemplate is the cheapest pipeline the distribution allows: the
// receiver straight into the debug exporter, which at basic verbosity logs
// one sampled line a batch and formats no record.
const configTemplate = `receivers:
  file_access:
    attach: %s
    include_paths: [%q]
    process_events: none
    max_batch_size: 1024
exporters:
  debug:
    verbosity: basic
    sampling_initial: 1
    sampling_thereafter: 100000
    sending_queue:
      enabled: false
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: basic
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
  pipelines:
    logs:
      receivers: [file_access]
      exporters: [debug]
`

// collector is the otelcol-fileaccess process under test.
type collector struct {
	cmd     *exec.Cmd
	metrics string // URL of its Prometheus endpoint
	log     string
}

func startCollector(binary, dir, watched, mode string) (*collector, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, configTemplate, mode, watched, port), 0o644); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "collector.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()

	cmd := exec.Command(binary, "--config", config)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	return &collector{
		cmd:     cmd,
		metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", port),
		log:     logPath,
	}, nil
}

// freePort asks the kernel for a loopback port nobody uses right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// stop ends the collector the way an operator would, and kills it if it
// does not stop within a while.
func (c *collector) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		return errors.New("the collector did not stop within 20s of SIGTERM")
	}
}

// tail returns the end of the collector's log, for error messages.
func (c *collector) tail() string {
	b, _ := os.ReadFile(c.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// counts are the collector's own metrics for the file_access receiver.
type counts struct {
	accepted, refused, lost float64
	// lostBy splits lost by its reason label.
	lostBy map[string]float64
}

func (c *collector) scrape() (counts, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.metrics, nil)
	if err != nil {
		return counts{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return counts{}, fmt.Errorf("scraping the collector's metrics: %w", err)
	}
	defer resp.Body.Close()
	return parseCounts(resp.Body)
}

// parseCounts sums the samples of the receiver's metrics over all their
// other labels (transport, reason).
func parseCounts(r io.Reader) (counts, error) {
	n := counts{lostBy: map[string]float64{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.Contains(line, `receiver="file_access"`) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "otelcol_receiver_accepted_log_records"):
			n.accepted += v
		case strings.HasPrefix(line, "otelcol_receiver_refused_log_records"):
			n.refused += v
		case strings.HasPrefix(line, "otelcol_receiver_file_access_records_lost"):
			n.lost += v
			n.lostBy[label(line, "reason")] += v
		}
	}
	return n, sc.Err()
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on Linux x86-64.
const clockTicks = 100

// cpuSeconds is the collector's user and system time so far.
func (c *collector) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may hold spaces; fields count from after it.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", c.cmd.Process.Pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (utime + stime) / clockTicks, nil
}

// memory returns the resident set now and its high-water mark, in MiB.
func (c *collector) memory() (rss, hwm float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kib, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			rss = kib / 1024
		case "VmHWM":
			hwm = kib / 1024
		}
	}
	return rss, hwm, nil
}

// label returns the value of a label in a Prometheus text sample line.
func label(line, name string) string {
	_, rest, ok := strings.Cut(line, name+`="`)
	if !ok {
		return ""
	}
	value, _, _ := strings.Cut(rest, `"`)
	return value
}
