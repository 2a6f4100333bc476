package probe

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
)

// dedupSettle is how long after a dedup window's end its count is taken: an
// access that read the clock just before the end may still be adding to it.
// The programs run without preemption, so nanoseconds would do.
const dedupSettle = 10 * time.Millisecond

// DedupWindow is a dedup window that has ended: the process whose accesses
// it counted, the boot time of the record that opened it, and how many
// accesses repeated that one.
type DedupWindow struct {
	PID     uint32
	FirstNs uint64
	Repeats uint64
}

// TakeEndedDedupWindows removes the dedup windows that ended before bootNs
// (CLOCK_BOOTTIME nanoseconds) from the kernel's map and appends them to out.
// Once taken, a window's count no longer changes: the kernel counts a repeat
// only in the window of its own time.
func (p *Probe) TakeEndedDedupWindows(bootNs uint64, window time.Duration, out []DedupWindow) ([]DedupWindow, error) {
	windowNs := uint64(window.Nanoseconds())
	if windowNs == 0 || bootNs < uint64(dedupSettle.Nanoseconds()) {
		return out, nil
	}
	// Windows numbered below current have ended dedupSettle ago at least.
	current := (bootNs - uint64(dedupSettle.Nanoseconds())) / windowNs

	m := p.coll.Maps["dedup_windows"]
	var (
		key     FileaccessDedupKey
		value   FileaccessDedupWindow
		ended   []FileaccessDedupKey
		entries = m.Iterate()
	)
	for entries.Next(&key, &value) {
		if key.Window < current {
			ended = append(ended, key)
		}
	}
	if err := entries.Err(); err != nil {
		return out, fmt.Errorf("reading the dedup windows: %w", err)
	}

	for _, k := range ended {
		// Lookup and delete in one step, so no count is read twice.
		if err := m.LookupAndDelete(&k, &value); err != nil {
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				continue
			}
			return out, fmt.Errorf("taking a dedup window: %w", err)
		}
		out = append(out, DedupWindow{PID: value.Tgid, FirstNs: value.FirstNs, Repeats: value.Repeats})
	}
	return out, nil
}
