package process

// entry is the table's node for one Info. It sits in two queues at once, each
// threaded through the entries themselves, so that an entry leaves either
// queue in O(1) with no search and no allocation.
type entry struct {
	info  Info
	links [lanes]links
}

// links are an entry's neighbours in one queue.
type links struct {
	prev, next *entry
}

// A lane picks which of an entry's links a queue uses.
const (
	// laneAll orders every entry by insertion.
	laneAll = iota
	// laneEnding orders the exited and superseded entries by when they were.
	laneEnding
	lanes
)

// queue is a FIFO of entries, oldest at the front.
type queue struct {
	lane        int
	front, back *entry
}

// pushBack appends e, which must not be in the queue.
func (q *queue) pushBack(e *entry) {
	l := &e.links[q.lane]
	l.prev, l.next = q.back, nil
	if q.back == nil {
		q.front = e
	} else {
		q.back.links[q.lane].next = e
	}
	q.back = e
}

// contains reports whether e is in the queue.
func (q *queue) contains(e *entry) bool {
	return e.links[q.lane].prev != nil || q.front == e
}

// remove takes e out of the queue; e must be in it.
func (q *queue) remove(e *entry) {
	l := &e.links[q.lane]
	if l.prev == nil {
		q.front = l.next
	} else {
		l.prev.links[q.lane].next = l.next
	}
	if l.next == nil {
		q.back = l.prev
	} else {
		l.next.links[q.lane].prev = l.prev
	}
	l.prev, l.next = nil, nil
}
