package convert

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"golang.org/x/sys/unix"
)

// Clock converts CLOCK_BOOTTIME nanoseconds (what the kernel stamps records
// with) to wall-clock time.
//
// Known limitation: the offset between the two clocks is read once, so a later
// step of the wall clock (settimeofday, an NTP step) shifts the timestamps of
// a Clock made before it by the size of the step.
type Clock struct {
	// bootEpochNs is the wall time of boot, in nanoseconds since the Unix epoch.
	bootEpochNs int64
}

// NewClock reads the wall clock and the boot clock back to back. The wall
// clock is read on both sides of the boot clock and the midpoint taken, which
// halves the error a preemption between the reads would cause.
func NewClock() Clock {
	before := readClock(unix.CLOCK_REALTIME)
	boot := readClock(unix.CLOCK_BOOTTIME)
	after := readClock(unix.CLOCK_REALTIME)
	return Clock{bootEpochNs: before + (after-before)/2 - boot}
}

// ClockAt returns a Clock whose boot happened at bootEpochUnixNano, for tests.
func ClockAt(bootEpochUnixNano int64) Clock {
	return Clock{bootEpochNs: bootEpochUnixNano}
}

// Timestamp returns the wall time of a CLOCK_BOOTTIME reading.
func (c Clock) Timestamp(bootNs uint64) pcommon.Timestamp {
	return pcommon.Timestamp(uint64(c.bootEpochNs) + bootNs)
}

func readClock(id int32) int64 {
	var ts unix.Timespec
	// clock_gettime fails only for an unknown clock or a bad address, and both
	// clocks exist on every kernel that can load the probe.
	_ = unix.ClockGettime(id, &ts)
	return ts.Nano()
}
