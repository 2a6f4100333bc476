package process

import "time"

// Table holds what is known of the processes on the node, one entry an exec,
// bounded in size. An entry that has exited, or whose pid has exec'd again,
// stays for a grace period so that file records still in flight resolve, and
// is removed at the first Exec, Clone or Exit after the grace has passed. When
// the table is full, a new entry takes the place of the oldest ended entry,
// or, if none has ended, of the oldest entry.
//
// A Table is not safe for concurrent use: the receiver calls it from the one
// goroutine that reads the ring buffer.
type Table struct {
	hostName   string
	maxEntries int
	exitGrace  time.Duration
	// now reads the wall clock; tests replace it.
	now func() time.Time

	entries map[Key]*entry
	// latest maps a pid to its entry with the newest ExecNs.
	latest map[uint32]*entry
	// all holds every entry in insertion order.
	all queue
	// ending holds the exited and superseded entries in the order they ended.
	ending queue

	evicted uint64
	// onEvictRunning, when set, hears of entries evicted while running.
	onEvictRunning func(Key)
}

// NewTable returns an empty table for the node hostName that holds at most
// maxEntries entries (at least one) and keeps an exited entry for exitGrace.
func NewTable(hostName string, maxEntries int, exitGrace time.Duration) *Table {
	return &Table{
		hostName:   hostName,
		maxEntries: max(maxEntries, 1),
		exitGrace:  exitGrace,
		now:        time.Now,
		entries:    make(map[Key]*entry),
		latest:     make(map[uint32]*entry),
		all:        queue{lane: laneAll},
		ending:     queue{lane: laneEnding},
	}
}

// Lookup returns the entry of the exec (pid, execNs). When execNs is 0 or
// unknown it returns the pid's latest entry, unless that entry is newer than
// execNs: a newer entry is a later exec of the pid, possibly by another
// process, and would name the wrong executable. It returns nil if there is
// none.
func (t *Table) Lookup(pid uint32, execNs uint64) *Info {
	if e := t.resolve(pid, execNs); e != nil {
		return &e.info
	}
	return nil
}

// Parent returns the entry of i's parent, found as Lookup finds it from
// i.ParentKey, or nil.
func (t *Table) Parent(i *Info) *Info {
	return t.Lookup(i.ParentKey.PID, i.ParentKey.ExecNs)
}

// Len returns the number of entries.
func (t *Table) Len() int {
	return len(t.entries)
}

// Evicted returns how many entries were dropped to make room, before their
// process had ended or before their grace had passed.
func (t *Table) Evicted() uint64 {
	return t.evicted
}

// resolve finds an entry as Lookup describes.
func (t *Table) resolve(pid uint32, execNs uint64) *entry {
	if execNs != 0 {
		if e, ok := t.entries[Key{PID: pid, ExecNs: execNs}]; ok {
			return e
		}
	}
	e := t.latest[pid]
	if e == nil || (execNs != 0 && e.info.Key.ExecNs > execNs) {
		return nil
	}
	return e
}

// insert adds an entry for info, making room first, and returns it. An entry
// already under info.Key is updated in place instead: it keeps its place in
// the queues, whether it was announced and whether it has exited.
func (t *Table) insert(info Info) *entry {
	if e, ok := t.entries[info.Key]; ok {
		info.Announced = e.info.Announced
		info.Exited, info.ExitCode, info.exitedAt = e.info.Exited, e.info.ExitCode, e.info.exitedAt
		e.info = info
		return e
	}

	if len(t.entries) >= t.maxEntries {
		t.evictOne()
	}
	e := &entry{info: info}
	t.entries[info.Key] = e
	t.all.pushBack(e)

	// Events of one pid can arrive out of order from different CPUs; the
	// newest exec is the pid's latest either way, and the older one ends.
	switch prev := t.latest[info.Key.PID]; {
	case prev == nil:
		t.latest[info.Key.PID] = e
	case prev.info.Key.ExecNs < info.Key.ExecNs:
		t.latest[info.Key.PID] = e
		t.end(prev)
	default:
		t.end(e)
	}
	return e
}

// remove drops e from the table.
func (t *Table) remove(e *entry) {
	delete(t.entries, e.info.Key)
	t.all.remove(e)
	if t.ending.contains(e) {
		t.ending.remove(e)
	}
	if t.latest[e.info.Key.PID] == e {
		delete(t.latest, e.info.Key.PID)
	}
}
