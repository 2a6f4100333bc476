package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// avoidCPU moves every thread of this process off cpu, where the pread
// child runs, so that the ring buffer drain never takes the child's CPU.
// Threads made later inherit the mask of the thread that makes them.
func avoidCPU(cpu int) error {
	var set unix.CPUSet
	for i := range runtime.NumCPU() {
		if i != cpu {
			set.Set(i)
		}
	}
	if set.Count() == 0 {
		return nil
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("listing this process's threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("moving thread %d off CPU %d: %w", tid, cpu, err)
		}
	}
	return nil
}
