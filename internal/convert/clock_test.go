package convert

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestClockAddsBootNsToBootEpoch(t *testing.T) {
	tests := []struct {
		name   string
		epoch  int64
		bootNs uint64
		want   uint64
	}{
		{name: "at_boot", epoch: bootEpoch, bootNs: 0, want: bootEpoch},
		{
			name: "a_day_later", epoch: bootEpoch,
			bootNs: 86_400_000_000_123, want: bootEpoch + 86_400_000_000_123,
		},
		{name: "epoch_zero", epoch: 0, bootNs: 42, want: 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClockAt(tt.epoch).Timestamp(tt.bootNs); uint64(got) != tt.want {
				t.Errorf("Timestamp(%d) = %d, want %d", tt.bootNs, got, tt.want)
			}
		})
	}
}

func TestNewClockMatchesWallClock(t *testing.T) {
	clock := NewClock()

	var boot unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot); err != nil {
		t.Fatal(err)
	}
	got := clock.Timestamp(uint64(boot.Nano())).AsTime()

	// Generous, so that a loaded machine does not fail it; a wrong clock is
	// off by the uptime or more.
	if diff := time.Since(got).Abs(); diff > time.Second {
		t.Errorf("now on the boot clock converts to %v, %v from the wall clock", got, diff)
	}
}
