package process

// end starts e's grace, unless it has started already: an exec superseded
// and then exited keeps the earlier start.
func (t *Table) end(e *entry) {
	if t.ending.contains(e) {
		return
	}
	e.info.exitedAt = t.now()
	t.ending.pushBack(e)
}

// expire removes the entries whose grace has passed. The ending queue is in
// the order the grace started, so it stops at the first entry still in it.
func (t *Table) expire() {
	cutoff := t.now().Add(-t.exitGrace)
	for e := t.ending.front; e != nil && !e.info.exitedAt.After(cutoff); e = t.ending.front {
		t.remove(e)
	}
}

// evictOne makes room for one entry: it drops the oldest ended entry, or the
// oldest entry if none has ended.
func (t *Table) evictOne() {
	e, running := t.ending.front, false
	if e == nil {
		e, running = t.all.front, true
	}
	if e == nil {
		return
	}
	t.remove(e)
	t.evicted++
	if running && t.onEvictRunning != nil {
		t.onEvictRunning(e.info.Key)
	}
}

// OnEvictRunning has f called with the key of each entry dropped while its
// process still ran, whose later records will find no entry.
func (t *Table) OnEvictRunning(f func(Key)) {
	t.onEvictRunning = f
}
