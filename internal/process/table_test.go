package process

import (
	"testing"
	"time"
)

const testHost = "node-a"

// fakeClock is a wall clock that moves only when told to.
type fakeClock struct {
	t time.Time
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newTestTable returns a table on testHost whose clock the test moves.
func newTestTable(maxEntries int, grace time.Duration) (*Table, *fakeClock) {
	clock := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	table := NewTable(testHost, maxEntries, grace)
	table.now = clock.now
	return table, clock
}

// event returns an event of pid keyed at execNs, child of (ppid, parentExecNs).
func event(pid uint32, execNs uint64, ppid uint32, parentExecNs uint64) *Event {
	return &Event{
		EventNs: execNs, ExecNs: execNs, ParentExecNs: parentExecNs, StartNs: execNs,
		PID: pid, TID: pid, PPID: ppid, NsPID: pid,
		Executable: "/usr/bin/prog", Args: []string{"prog"}, Cwd: "/", Comm: "prog",
	}
}

func TestLookupFindsTheExecOfTheRecord(t *testing.T) {
	table, _ := newTestTable(100, time.Minute)
	table.Exec(event(100, 10, 1, 0))
	table.Exec(event(100, 20, 1, 0)) // the same process exec'd again
	table.Exec(event(200, 30, 1, 0))

	tests := []struct {
		name       string
		pid        uint32
		execNs     uint64
		wantExecNs uint64 // 0 for no entry
	}{
		{name: "exact_key", pid: 100, execNs: 10, wantExecNs: 10},
		{name: "exact_key_of_latest", pid: 100, execNs: 20, wantExecNs: 20},
		{name: "zero_exec_ns_gives_latest", pid: 100, execNs: 0, wantExecNs: 20},
		{name: "unknown_later_exec_gives_latest", pid: 100, execNs: 25, wantExecNs: 20},
		{name: "unknown_earlier_exec_is_not_joined_to_a_later_one", pid: 100, execNs: 5},
		{name: "unknown_pid", pid: 300, execNs: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := table.Lookup(tt.pid, tt.execNs)
			switch {
			case tt.wantExecNs == 0 && got != nil:
				t.Errorf("Lookup(%d, %d) = %+v, want nil", tt.pid, tt.execNs, got.Key)
			case tt.wantExecNs != 0 && got == nil:
				t.Errorf("Lookup(%d, %d) = nil, want ExecNs %d", tt.pid, tt.execNs, tt.wantExecNs)
			case got != nil && got.Key != (Key{PID: tt.pid, ExecNs: tt.wantExecNs}):
				t.Errorf("Lookup(%d, %d) = %+v, want ExecNs %d", tt.pid, tt.execNs, got.Key, tt.wantExecNs)
			}
		})
	}
}

func TestParentFollowsParentKey(t *testing.T) {
	table, _ := newTestTable(100, time.Minute)
	parent := table.Exec(event(10, 100, 1, 0))
	child := table.Exec(event(11, 200, 10, 100))
	orphan := table.Exec(event(12, 300, 99, 0))

	if got := table.Parent(child); got != parent {
		t.Errorf("Parent(child) = %+v, want the parent %+v", got, parent)
	}
	if got := table.Parent(orphan); got != nil {
		t.Errorf("Parent of a process whose parent is unknown = %+v, want nil", got)
	}
}

func BenchmarkLookup(b *testing.B) {
	const processes = 10_000
	table := NewTable(testHost, processes, time.Minute)
	for pid := uint32(1); pid <= processes; pid++ {
		table.Exec(event(pid, uint64(pid)*1000, 1, 0))
	}

	b.Run("exact_key", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			pid := uint32(i%processes) + 1
			if table.Lookup(pid, uint64(pid)*1000) == nil {
				b.Fatal("entry not found")
			}
		}
	})
	b.Run("latest_of_pid", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if table.Lookup(uint32(i%processes)+1, 0) == nil {
				b.Fatal("entry not found")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if table.Lookup(uint32(i%processes)+processes+1, 1) != nil {
				b.Fatal("entry found")
			}
		}
	})
}
