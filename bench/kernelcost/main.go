// Command kernelcost measures what the file_access programs add to a system
// call, against the cost of the bare hook they attach to.
//
// A child process, pinned to one CPU, times loops of one-byte preads on a
// watched and on an unwatched file while, in turn, nothing, an empty program
// at the receiver's hook, and the receiver's own programs are attached. The
// configurations are interleaved across repetitions so that drift in a noisy
// machine hits them alike, and each difference is taken within a repetition.
// It prints a Markdown table. It needs root.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
)

func main() {
	if os.Getenv(childEnv) != "" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "kernelcost child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kernelcost:", err)
		os.Exit(1)
	}
}

type settings struct {
	preads int
	reps   int
	mode   probe.Mode
	cpu    int
	// only keeps the configurations whose name contains it, with bare; for
	// profiling one of them.
	only string
	// file, with only, makes both loops read the watched or the unwatched file.
	file string
}

func parseFlags() (settings, error) {
	var s settings
	var mode string
	flag.IntVar(&s.preads, "n", 2_000_000, "preads per timed loop")
	flag.IntVar(&s.reps, "reps", 5, "repetitions of every configuration; medians are reported")
	flag.StringVar(&mode, "mode", "auto", "attach mode of the receiver's programs")
	flag.IntVar(&s.cpu, "cpu", runtime.NumCPU()-1, "CPU the pread loops are pinned to")
	flag.StringVar(&s.file, "file", "", "with -only: read only the \"watched\" or the \"unwatched\" file")
	flag.StringVar(&s.only, "only", "", "measure only bare and the configurations whose name contains this (for profiling)")
	flag.Parse()
	m, err := probe.ParseMode(mode)
	s.mode = m
	return s, err
}

func run() error {
	s, err := parseFlags()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("loading BPF programs needs root")
	}

	dir, err := os.MkdirTemp("", "kernelcost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files, err := makeFiles(dir)
	if err != nil {
		return err
	}

	opts, err := probeOptions(s.mode, filepath.Dir(files.watched), os.Getpid())
	if err != nil {
		return err
	}
	// A first open finds the mode auto takes and so which floors apply.
	p, err := probe.Open(opts)
	if err != nil {
		return fmt.Errorf("opening the receiver's programs: %w", err)
	}
	opts.Mode = p.Mode
	attached := p.Attached
	floors := floorsFor(p)
	p.Close()

	if err := avoidCPU(s.cpu); err != nil {
		return err
	}
	child, err := startChild(s.cpu)
	if err != nil {
		return err
	}
	defer child.stop()
	neighbours := syscallLinks()

	configs := append([]hookSet{{name: "bare"}}, floors...)
	configs = append(configs, receiverHooks(opts))
	if s.only != "" {
		return measureOnly(s, child, files, configs)
	}
	res, err := measure(s, child, files, configs)
	if err != nil {
		return err
	}
	res.neighbours = [2]int{neighbours, syscallLinks()}
	printTable(os.Stdout, s, opts.Mode, attached, res)
	return nil
}

// benchFiles are two files at the same depth, so that the receiver's path
// walk costs the same for both; only one is under a watched prefix.
type benchFiles struct {
	watched, unwatched string
}

func makeFiles(dir string) (benchFiles, error) {
	f := benchFiles{
		watched:   filepath.Join(dir, "watched", "data"),
		unwatched: filepath.Join(dir, "unwatched", "data"),
	}
	for _, path := range []string{f.watched, f.unwatched} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return f, err
		}
		if err := os.WriteFile(path, make([]byte, 4096), 0o644); err != nil {
			return f, err
		}
	}
	return f, nil
}

// childProc is the re-executed benchmark that makes the preads.
type childProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startChild(cpu int) (*childProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(cpu))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the pread child: %w", err)
	}
	c := &childProc{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	if err := c.waitReady(); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// execAgain has the child exec itself again and waits until it serves.
func (c *childProc) execAgain() error {
	if _, err := fmt.Fprintln(c.in, childExec); err != nil {
		return fmt.Errorf("asking the child to exec: %w", err)
	}
	return c.waitReady()
}

func (c *childProc) waitReady() error {
	if !c.out.Scan() || c.out.Text() != childReady {
		return fmt.Errorf("the pread child did not start: %q %v", c.out.Text(), c.out.Err())
	}
	return nil
}

// preadNs has the child read path count times and returns ns per pread.
func (c *childProc) preadNs(path string, count int) (float64, error) {
	if _, err := fmt.Fprintf(c.in, "%s %d\n", path, count); err != nil {
		return 0, fmt.Errorf("asking the child: %w", err)
	}
	if !c.out.Scan() {
		return 0, fmt.Errorf("the pread child stopped: %v", c.out.Err())
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(c.out.Text()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading the child's answer: %w", err)
	}
	return float64(ns) / float64(count), nil
}

func (c *childProc) stop() {
	c.in.Close()
	c.cmd.Wait()
}
