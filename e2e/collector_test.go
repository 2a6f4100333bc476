// Package e2e runs the collector binary that `make build` makes, end to end:
// one instance with the file_access receiver sends what it sees over OTLP to a
// second instance, which writes it to a file the test reads.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The bounds of each step; a step that outlives them fails the test instead
// of hanging it.
const (
	testTimeout   = 3 * time.Minute
	readyTimeout  = 30 * time.Second
	recordTimeout = 30 * time.Second
	childTimeout  = 10 * time.Second
	stopTimeout   = 10 * time.Second
	pollInterval  = 200 * time.Millisecond

	// settleTime is how long the test keeps watching for records of the
	// unwatched directory after the watched ones have arrived.
	settleTime = 2 * time.Second

	readyMessage = "Everything is ready"

	// childShell runs the accesses the test expects to see.
	childShell = "/bin/sh"
)

// defaultBinary is where `make build` puts the collector, relative to this
// package's directory, where go test runs the test.
const defaultBinary = "../build/otelcol-fileaccess/otelcol-fileaccess"

func TestCollectorExportsFileAccessesOverOTLP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load BPF programs")
	}
	binary := collectorBinary(t)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	watched := realTempDir(t)
	unwatched := realTempDir(t)
	output := filepath.Join(t.TempDir(), "logs.json")

	// B receives OTLP and writes every request to a file as a JSON line.
	grpcPort := freePort(t)
	gateway := startCollector(ctx, t, binary, "gateway", fmt.Sprintf(gatewayConfig, grpcPort, output))
	gateway.waitReady(t)

	// A watches only the first directory and sends to B.
	agent := startCollector(ctx, t, binary, "agent", fmt.Sprintf(agentConfig, watched+"/", grpcPort))
	agent.waitReady(t)

	// The unwatched file goes first: by the time the watched records
	// arrive, any record of it would have been sent before them.
	watchedFile := filepath.Join(watched, "f.txt")
	unwatchedFile := filepath.Join(unwatched, "g.txt")
	runChild(ctx, t, `echo other > "$2"; cat "$2"; echo hello > "$1"; cat "$1"`, watchedFile, unwatchedFile)

	shell := resolveExecutable(t, childShell)
	cat := resolveExecutable(t, "cat")
	want := []access{
		{event: "file_access.write", path: watchedFile, executable: shell},
		{event: "file_access.read", path: watchedFile, executable: cat},
	}

	deadline := time.Now().Add(recordTimeout)
	for {
		records := readRecords(t, output)
		missing := missingRecords(records, want)
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, no record for %v among %d records:\n%s",
				recordTimeout, missing, len(records), describeRecords(records))
		}
		time.Sleep(pollInterval)
	}

	time.Sleep(settleTime)
	for _, r := range readRecords(t, output) {
		if strings.HasPrefix(r.path, unwatched+"/") {
			t.Errorf("record of the unwatched directory: %+v", r)
		}
	}
}

// The collectors' configurations. Neither opens a port for its own metrics,
// so that several can run side by side.
const (
	gatewayConfig = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %q
    format: json
    flush_interval: 100ms
service:
  telemetry:
    logs:
      level: info
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file]
`

	agentConfig = `
receivers:
  file_access:
    attach: auto
    include_paths: [%q]
exporters:
  otlp_grpc:
    endpoint: 127.0.0.1:%d
    tls:
      insecure: true
service:
  telemetry:
    logs:
      level: info
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [file_access]
      exporters: [otlp_grpc]
`
)

// collectorBinary finds the binary under test. On CI a missing binary is a
// failure, since .ci/run builds it before the tests.
func collectorBinary(t *testing.T) string {
	t.Helper()
	binary := os.Getenv("OTELCOL_FILEACCESS")
	if binary == "" {
		binary = defaultBinary
	}
	abs, err := filepath.Abs(binary)
	if err != nil {
		t.Fatalf("resolving %s: %v", binary, err)
	}
	if _, err := os.Stat(abs); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("collector binary missing on CI: %v", err)
		}
		t.Skipf("collector binary %s is missing: run make build", abs)
	}
	return abs
}

// collector is one running instance of the binary.
type collector struct {
	name   string
	output *syncBuffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

func startCollector(ctx context.Context, t *testing.T, binary, name, config string) *collector {
	t.Helper()
	configFile := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatalf("writing the %s configuration: %v", name, err)
	}

	ctx, cancel := context.WithCancel(ctx)
	c := &collector{name: name, output: &syncBuffer{}, exited: make(chan struct{})}
	cmd := exec.CommandContext(ctx, binary, "--config", configFile)
	cmd.Stdout = c.output
	cmd.Stderr = c.output
	// A stop asks for a clean shutdown first, so that the receiver detaches
	// its programs, and kills only when that takes too long.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopTimeout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting the %s collector: %v", name, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()

	t.Cleanup(func() {
		cancel()
		<-c.exited
		if t.Failed() {
			t.Logf("output of the %s collector (%v):\n%s", name, c.err, c.output.String())
		}
	})
	return c
}

// waitReady returns once the collector says its pipelines run, and fails
// when it exits or stays silent for too long.
func (c *collector) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.After(readyTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for !strings.Contains(c.output.String(), readyMessage) {
		select {
		case <-c.exited:
			t.Fatalf("the %s collector exited before it was ready: %v", c.name, c.err)
		case <-deadline:
			t.Fatalf("the %s collector was not ready after %s", c.name, readyTimeout)
		case <-tick.C:
		}
	}
}

// runChild runs a shell script with the given arguments as $1, $2, ... in a
// process of its own, so that its accesses come from sh and cat, not from the
// test.
func runChild(ctx context.Context, t *testing.T, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, childShell, append([]string{"-c", script, "sh"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running %q: %v\n%s", script, err, out)
	}
}

// resolveExecutable gives the path the kernel reports for a program: the
// file behind every symbolic link (/bin/sh is one on Debian).
func resolveExecutable(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("looking up %s: %v", name, err)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatalf("resolving %s: %v", path, err)
	}
	return resolved
}

// realTempDir is a fresh directory by the path the kernel reports for it.
func realTempDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatalf("resolving the temporary directory: %v", err)
	}
	return dir
}

// freePort is a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// access is what the test reads of one exported log record.
type access struct {
	event      string
	path       string
	executable string
}

// readRecords parses the complete JSON lines the file exporter has written.
func readRecords(t *testing.T, file string) []access {
	t.Helper()
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("reading the exported logs: %v", err)
	}

	// The last line may be half written; it is read on the next poll.
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	} else {
		return nil
	}

	var records []access
	var unmarshaler plog.JSONUnmarshaler
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		logs, err := unmarshaler.UnmarshalLogs(line)
		if err != nil {
			t.Fatalf("parsing an exported line: %v\n%s", err, line)
		}
		records = append(records, flatten(logs)...)
	}
	return records
}

func flatten(logs plog.Logs) []access {
	var records []access
	for _, rl := range logs.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				attrs := lr.Attributes()
				r := access{event: lr.EventName()}
				if v, ok := attrs.Get("file.path"); ok {
					r.path = v.AsString()
				}
				if v, ok := attrs.Get("process.executable.path"); ok {
					r.executable = v.AsString()
				}
				records = append(records, r)
			}
		}
	}
	return records
}

func missingRecords(records []access, want []access) []access {
	var missing []access
	for _, w := range want {
		found := false
		for _, r := range records {
			if w == r {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, w)
		}
	}
	return missing
}

func describeRecords(records []access) string {
	var b strings.Builder
	for _, r := range records {
		fmt.Fprintf(&b, "  %s %s by %s\n", r.event, r.path, r.executable)
	}
	return b.String()
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
