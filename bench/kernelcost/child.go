package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// childEnv marks the re-executed process that makes the preads: a process of
// its own, so that the probe's ignored pid (the parent) never hides them.
const childEnv = "FILEACCESS_KERNELCOST_CHILD"

// runChild serves requests from the parent on stdin, one a line:
// "<path> <count>", answered with the nanoseconds the loop took, or "exec",
// which runs the binary again in this process. It says "ready" first.
func runChild() error {
	// The loop's thread is pinned, so every pread pays the same cache and
	// frequency conditions, and the parent's drain runs on another CPU.
	runtime.LockOSThread()
	cpu, err := strconv.Atoi(os.Getenv(childEnv))
	if err != nil {
		return fmt.Errorf("reading the CPU to pin to: %w", err)
	}
	// Affinity survives an exec: the new image's threads must start with the
	// mask the parent gave, not the loop's CPU.
	var inherited unix.CPUSet
	if err := unix.SchedGetaffinity(0, &inherited); err != nil {
		return fmt.Errorf("reading the CPU mask: %w", err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pinning to CPU %d: %w", cpu, err)
	}

	fmt.Println(childReady)
	files := map[string]int{}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == childExec {
			return execAgain(files, &inherited)
		}
		path, countText, ok := strings.Cut(in.Text(), " ")
		if !ok {
			return fmt.Errorf("malformed request %q", in.Text())
		}
		count, err := strconv.Atoi(countText)
		if err != nil {
			return fmt.Errorf("malformed count in %q: %w", in.Text(), err)
		}
		fd, ok := files[path]
		if !ok {
			fd, err = unix.Open(path, unix.O_RDONLY, 0)
			if err != nil {
				return fmt.Errorf("opening %s: %w", path, err)
			}
			files[path] = fd
		}
		elapsed, err := preadLoop(fd, count)
		if err != nil {
			return err
		}
		fmt.Printf("%d\n", elapsed.Nanoseconds())
	}
	return in.Err()
}

const (
	childReady = "ready"
	childExec  = "exec"
)

// execAgain replaces the child's image with the same binary, keeping its pid,
// CPU and pipes: the programs attached meanwhile see its exec, as they see
// every process started after the collector.
func execAgain(files map[string]int, inherited *unix.CPUSet) error {
	for _, fd := range files {
		unix.Close(fd)
	}
	if err := unix.SchedSetaffinity(0, inherited); err != nil {
		return fmt.Errorf("restoring the CPU mask: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	return unix.Exec(self, os.Args, os.Environ())
}

// readBuf is global so that its address cannot move while the kernel holds it.
var readBuf [1]byte

// preadLoop reads one byte at offset 0, count times, and returns the CPU
// time the thread spent, in user and kernel mode: on a shared machine, wall
// time would also count the time others preempted it. The raw system call
// keeps the Go scheduler's bookkeeping out of what is timed.
func preadLoop(fd, count int) (time.Duration, error) {
	p := uintptr(unsafe.Pointer(&readBuf[0]))
	start, err := threadCPUTime()
	if err != nil {
		return 0, err
	}
	for range count {
		n, _, errno := unix.RawSyscall6(unix.SYS_PREAD64, uintptr(fd), p, 1, 0, 0, 0)
		if errno != 0 || n != 1 {
			return 0, fmt.Errorf("pread returned %d: %v", n, errno)
		}
	}
	end, err := threadCPUTime()
	return end - start, err
}

func threadCPUTime() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, fmt.Errorf("reading the thread's CPU time: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}
