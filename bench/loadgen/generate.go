package main

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// chunk is how many preads go between two looks at the clock.
const chunk = 32

// readBuf is global so that its address cannot move while the kernel holds it.
var readBuf [1]byte

// generate makes one-byte preads of fd at rate a second for d, keeping to a
// schedule: behind it, it reads without pause; ahead of it, it sleeps. It
// returns how many preads it made and how long that took.
func generate(fd int, rate float64, d time.Duration) (int, time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	p := uintptr(unsafe.Pointer(&readBuf[0]))
	start := time.Now()
	made := 0
	for {
		elapsed := time.Since(start)
		if elapsed >= d {
			return made, elapsed, nil
		}
		due := int(rate*elapsed.Seconds()) + chunk
		if made >= due {
			ahead := time.Duration(float64(made-due+1) / rate * float64(time.Second))
			time.Sleep(ahead)
			continue
		}
		for range chunk {
			n, _, errno := unix.RawSyscall6(unix.SYS_PREAD64, uintptr(fd), p, 1, 0, 0, 0)
			if errno != 0 || n != 1 {
				return made, time.Since(start), fmt.Errorf("pread returned %d: %v", n, errno)
			}
		}
		made += chunk
	}
}
