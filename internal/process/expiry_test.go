package process

import (
	"testing"
	"time"
)

func TestExitedEntryStaysForTheGrace(t *testing.T) {
	const grace = 30 * time.Second
	tests := []struct {
		name    string
		elapsed time.Duration
		want    bool
	}{
		{name: "just_exited", elapsed: 0, want: true},
		{name: "a_nanosecond_before_the_grace_ends", elapsed: grace - time.Nanosecond, want: true},
		{name: "when_the_grace_ends", elapsed: grace, want: false},
		{name: "long_after", elapsed: time.Hour, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, clock := newTestTable(100, grace)
			table.Exec(event(100, 10, 1, 0))
			table.Exit(event(100, 10, 1, 0))

			clock.advance(tt.elapsed)
			table.Exit(event(999, 1, 1, 0)) // an event, even of an unknown process, expires

			if got := table.Lookup(100, 10) != nil; got != tt.want {
				t.Errorf("entry present after %v: %v, want %v", tt.elapsed, got, tt.want)
			}
			if want := map[bool]int{true: 1, false: 0}[tt.want]; table.Len() != want {
				t.Errorf("Len() = %d, want %d", table.Len(), want)
			}
			if table.Evicted() != 0 {
				t.Errorf("Evicted() = %d, want 0: expiry is not eviction", table.Evicted())
			}
		})
	}
}

func TestLiveEntryOutlivesTheGrace(t *testing.T) {
	table, clock := newTestTable(100, time.Second)
	table.Exec(event(100, 10, 1, 0))

	clock.advance(time.Hour)
	table.Exec(event(200, 20, 1, 0))

	if table.Lookup(100, 10) == nil {
		t.Error("a live process was expired")
	}
}

func TestSupersededThenExitedKeepsTheEarlierGrace(t *testing.T) {
	const grace = time.Minute
	table, clock := newTestTable(100, grace)
	table.Exec(event(100, 1, 1, 0))
	table.Exec(event(100, 2, 1, 0)) // supersedes ExecNs 1

	clock.advance(grace / 2)
	table.Exit(event(100, 1, 1, 0)) // a late exit of the superseded image
	clock.advance(grace / 2)
	table.Exec(event(300, 3, 1, 0))

	if got := table.Lookup(100, 1); got != nil {
		t.Errorf("superseded image still there a grace after it was superseded: %+v", got.Key)
	}
}

func TestTableStaysBounded(t *testing.T) {
	const (
		maxEntries = 1000
		events     = 200_000
	)
	tests := []struct {
		name string
		exit bool
	}{
		{name: "fork_storm_of_short_lived_processes", exit: true},
		{name: "fork_storm_of_live_processes", exit: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The clock does not move, so no grace passes and only eviction
			// keeps the table small.
			table, _ := newTestTable(maxEntries, time.Minute)
			table.Exec(event(1, 1, 0, 0))
			for i := range uint32(events) {
				pid := 2 + i%32_000 // pids wrap, as at the default pid_max
				e := event(pid, uint64(i)+2, 1, 1)
				table.Clone(e)
				if tt.exit {
					table.Exit(e)
				}
				if table.Len() > maxEntries {
					t.Fatalf("Len() = %d after %d clones, want at most %d", table.Len(), i+1, maxEntries)
				}
			}

			if want := uint64(events + 1 - maxEntries); table.Evicted() != want {
				t.Errorf("Evicted() = %d, want %d", table.Evicted(), want)
			}
			last := uint32(events - 1)
			if table.Lookup(2+last%32_000, uint64(last)+2) == nil {
				t.Error("the newest process was evicted")
			}
		})
	}
}

func TestEvictionPrefersEndedEntries(t *testing.T) {
	table, _ := newTestTable(3, time.Minute)
	table.Exec(event(1, 1, 0, 0))
	table.Exec(event(2, 2, 1, 1))
	table.Exec(event(3, 3, 1, 1))
	table.Exit(event(2, 2, 1, 1))

	table.Exec(event(4, 4, 1, 1))

	for _, tt := range []struct {
		pid  uint32
		want bool
	}{{1, true}, {2, false}, {3, true}, {4, true}} {
		if got := table.Lookup(tt.pid, uint64(tt.pid)) != nil; got != tt.want {
			t.Errorf("pid %d present: %v, want %v", tt.pid, got, tt.want)
		}
	}

	table.Exec(event(5, 5, 1, 1)) // nothing has ended: the oldest goes
	if table.Lookup(1, 1) != nil {
		t.Error("with no ended entry, the oldest entry was not the one evicted")
	}
	if table.Evicted() != 2 {
		t.Errorf("Evicted() = %d, want 2", table.Evicted())
	}
}

func TestEvictedLatestLeavesNoStaleIndex(t *testing.T) {
	table, _ := newTestTable(1, time.Minute)
	table.Exec(event(100, 10, 1, 0))
	table.Exec(event(200, 20, 1, 0))

	if got := table.Lookup(100, 0); got != nil {
		t.Errorf("Lookup of an evicted pid = %+v, want nil", got.Key)
	}
}

// TestEvictingARunningProcessIsTold: only entries dropped while their process
// still runs are reported; an ended entry makes room silently.
func TestEvictingARunningProcessIsTold(t *testing.T) {
	table, _ := newTestTable(2, time.Minute)
	var told []Key
	table.OnEvictRunning(func(k Key) { told = append(told, k) })

	table.Exec(event(100, 10, 1, 0))
	table.Exec(event(200, 20, 1, 0))
	table.Exit(event(200, 20, 1, 0))
	table.Exec(event(300, 30, 1, 0)) // room made by the ended 200
	if len(told) != 0 {
		t.Fatalf("told of %v; the evicted entry had ended", told)
	}
	table.Exec(event(400, 40, 1, 0)) // room made by the running 100
	if len(told) != 1 || told[0] != (Key{PID: 100, ExecNs: 10}) {
		t.Fatalf("told of %v, want pid 100's exec at 10", told)
	}
}
