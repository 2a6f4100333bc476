// Command loadgen measures the whole collector: it starts otelcol-fileaccess
// with the file_access receiver watching a temporary directory, reads a file
// there at increasing rates, and compares the accesses it made with the
// records the collector's own metrics say it accepted and lost. It stops at
// the first rate with loss and prints a Markdown table. It needs root.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type settings struct {
	binary   string
	rates    []float64
	duration time.Duration
	mode     string
}

func parseFlags() (settings, error) {
	var s settings
	var rates string
	flag.StringVar(&s.binary, "collector", "build/otelcol-fileaccess/otelcol-fileaccess", "the collector binary")
	flag.StringVar(&rates, "rates", "25000,50000,100000,200000,300000,400000", "target preads a second, in increasing order")
	flag.DurationVar(&s.duration, "duration", 30*time.Second, "how long each rate is held")
	flag.StringVar(&s.mode, "mode", "auto", "the receiver's attach setting")
	flag.Parse()
	for _, r := range strings.Split(rates, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			return s, fmt.Errorf("bad rate %q", r)
		}
		s.rates = append(s.rates, v)
	}
	return s, nil
}

func run() error {
	s, err := parseFlags()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("the collector loads BPF programs and must run as root")
	}
	if _, err := os.Stat(s.binary); err != nil {
		return fmt.Errorf("no collector binary (run make build): %w", err)
	}

	dir, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	watched := filepath.Join(dir, "watched")
	file := filepath.Join(watched, "data")
	if err := os.MkdirAll(watched, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(file, make([]byte, 4096), 0o644); err != nil {
		return err
	}
	fd, err := unix.Open(file, unix.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)

	c, err := startCollector(s.binary, dir, watched, s.mode)
	if err != nil {
		return err
	}
	defer c.stop()
	if err := waitReady(c, fd); err != nil {
		return fmt.Errorf("%w; collector log:\n%s", err, c.tail())
	}

	// Idle is measured after start-up has settled: the /proc scan and the
	// first batches are done.
	time.Sleep(3 * time.Second)
	idle, _, err := c.memory()
	if err != nil {
		return err
	}

	var steps []step
	for _, rate := range s.rates {
		st, err := runStep(c, fd, rate, s.duration)
		if err != nil {
			return fmt.Errorf("at %.0f/s: %w; collector log:\n%s", rate, err, c.tail())
		}
		steps = append(steps, st)
		fmt.Fprintf(os.Stderr, "loadgen: %.0f/s: made %d at %.0f/s, accepted %.0f, lost %.0f, refused %.0f\n",
			rate, st.made, st.achieved(), st.accepted, st.lost, st.refused)
		if st.lossy() {
			break
		}
	}
	_, hwm, err := c.memory()
	if err != nil {
		return err
	}
	printTable(os.Stdout, s, idle, hwm, steps)
	return nil
}

// waitReady waits for the metrics endpoint and for a first record, which
// shows the programs are attached.
func waitReady(c *collector, fd int) error {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if c.cmd.ProcessState != nil || unix.Kill(c.cmd.Process.Pid, 0) != nil {
			return fmt.Errorf("the collector exited during start-up")
		}
		if _, _, err := generate(fd, 10_000, 20*time.Millisecond); err != nil {
			return err
		}
		if n, err := c.scrape(); err == nil && n.accepted > 0 {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("no record accepted within 90s of start")
}

// step is one rate held for a while.
type step struct {
	target                  float64
	made                    int
	took                    time.Duration
	accepted, lost, refused float64
	lostBy                  map[string]float64
	cpu                     float64 // collector CPU seconds over the step
	peakRSS                 float64 // MiB, sampled during the step
}

func (st step) achieved() float64 { return float64(st.made) / st.took.Seconds() }

// short says the generator did not keep the rate: either it ran out of CPU
// (each watched pread costs it the receiver's kernel-side work too), or the
// collector fell so far behind that the programs woke it on every record,
// an interrupt each, which slows the writer down.
func (st step) short() bool { return st.achieved() < 0.95*st.target }

// collectorBehind says the collector, not the generator, set the pace: it
// lost records or used nearly every CPU the generator's thread leaves it.
func (st step) collectorBehind() bool {
	left := max(runtime.NumCPU()-1, 1)
	return st.lossy() || st.cpu/st.took.Seconds() >= 0.9*float64(left)
}

func (st step) lossy() bool {
	return st.lost > 0 || st.refused > 0 || st.accepted < float64(st.made)
}

func runStep(c *collector, fd int, rate float64, d time.Duration) (step, error) {
	st := step{target: rate}
	before, err := c.scrape()
	if err != nil {
		return st, err
	}
	cpu0, err := c.cpuSeconds()
	if err != nil {
		return st, err
	}

	type result struct {
		made int
		took time.Duration
		err  error
	}
	done := make(chan result, 1)
	go func() {
		made, took, err := generate(fd, rate, d)
		done <- result{made, took, err}
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var res result
	for waiting := true; waiting; {
		select {
		case res = <-done:
			waiting = false
		case <-tick.C:
			if rss, _, err := c.memory(); err == nil && rss > st.peakRSS {
				st.peakRSS = rss
			}
		}
	}
	if res.err != nil {
		return st, res.err
	}
	st.made, st.took = res.made, res.took

	after, err := settle(c, before, st.made)
	if err != nil {
		return st, err
	}
	cpu1, err := c.cpuSeconds()
	if err != nil {
		return st, err
	}
	st.accepted = after.accepted - before.accepted
	st.lost = after.lost - before.lost
	st.refused = after.refused - before.refused
	st.lostBy = map[string]float64{}
	for reason, v := range after.lostBy {
		if d := v - before.lostBy[reason]; d > 0 {
			st.lostBy[reason] = d
		}
	}
	st.cpu = cpu1 - cpu0
	return st, nil
}

// settle waits until every access made is accounted for, accepted or lost,
// or the counts have stopped moving.
func settle(c *collector, before counts, made int) (counts, error) {
	var last counts
	for i := 0; i < 60; i++ {
		time.Sleep(500 * time.Millisecond)
		n, err := c.scrape()
		if err != nil {
			return n, err
		}
		seen := n.accepted + n.lost + n.refused - before.accepted - before.lost - before.refused
		if seen >= float64(made) || (i > 3 && n.accepted == last.accepted && n.lost == last.lost) {
			return n, nil
		}
		last = n
	}
	return last, nil
}
