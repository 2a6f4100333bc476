package kube

import (
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// containerTable maps container ids to their Containers. It remembers which
// ids each pod had, so that an id that leaves its pod, by a restart or by the
// pod's deletion, is retired: it keeps resolving for the grace period and is
// then dropped at the next change, or earlier when more than maxRetired ids
// are waiting.
//
// A containerTable is safe for concurrent use; its writes come from the one
// goroutine that delivers the informer's events, its reads from the receiver.
type containerTable struct {
	grace      time.Duration
	maxRetired int
	// now reads the wall clock; tests replace it.
	now func() time.Time

	mu   sync.RWMutex
	byID map[string]tableEntry
	pods map[types.UID]podEntry
	// retired holds the retired ids in the order they expire.
	retired []retiredID
}

// tableEntry is a Container and, once retired, when it stops resolving.
type tableEntry struct {
	c       *Container
	expires time.Time
}

// podEntry is what the table last built for a pod.
type podEntry struct {
	resourceVersion string
	ids             []string
}

// retiredID is an id waiting to be dropped.
type retiredID struct {
	id      string
	expires time.Time
}

// newContainerTable returns an empty table that keeps retired ids for grace.
func newContainerTable(grace time.Duration) *containerTable {
	return &containerTable{
		grace:      grace,
		maxRetired: maxRetired,
		now:        time.Now,
		byID:       make(map[string]tableEntry),
		pods:       make(map[types.UID]podEntry),
	}
}

// lookup returns the Container of id unless its grace has passed. It takes a
// read lock and allocates nothing.
func (t *containerTable) lookup(id string) (*Container, bool) {
	t.mu.RLock()
	e, ok := t.byID[id]
	t.mu.RUnlock()
	if !ok || (!e.expires.IsZero() && !t.now().Before(e.expires)) {
		return nil, false
	}
	return e.c, true
}

// current reports whether the table holds the pod uid at resourceVersion, so
// that an event that changes nothing, such as a relist, builds nothing. An
// empty resourceVersion is never current.
func (t *containerTable) current(uid types.UID, resourceVersion string) bool {
	if resourceVersion == "" {
		return false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	p, ok := t.pods[uid]
	return ok && p.resourceVersion == resourceVersion
}

// set records containers as the pod uid's at resourceVersion and retires the
// ids the pod had before that it no longer has.
func (t *containerTable) set(uid types.UID, resourceVersion string, containers []*Container) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()

	ids := make([]string, 0, len(containers))
	for _, c := range containers {
		t.byID[c.ContainerID] = tableEntry{c: c}
		ids = append(ids, c.ContainerID)
	}
	for _, id := range t.pods[uid].ids {
		if !slices.Contains(ids, id) {
			t.retire(id, now)
		}
	}
	t.pods[uid] = podEntry{resourceVersion: resourceVersion, ids: ids}
	t.sweep(now)
}

// remove retires every id of the pod uid.
func (t *containerTable) remove(uid types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()

	for _, id := range t.pods[uid].ids {
		t.retire(id, now)
	}
	delete(t.pods, uid)
	t.sweep(now)
}

// size returns the number of ids held, retired ones included.
func (t *containerTable) size() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byID)
}

// retire starts the grace of id. The caller holds t.mu.
func (t *containerTable) retire(id string, now time.Time) {
	e, ok := t.byID[id]
	if !ok || !e.expires.IsZero() {
		return
	}
	e.expires = now.Add(t.grace)
	t.byID[id] = e
	t.retired = append(t.retired, retiredID{id: id, expires: e.expires})
}

// sweep drops the retired ids whose grace has passed, and the oldest ones
// beyond maxRetired. An id that came back to life since it was retired has a
// different expiry, or none, and is kept. The caller holds t.mu.
func (t *containerTable) sweep(now time.Time) {
	n := 0
	for ; n < len(t.retired); n++ {
		r := t.retired[n]
		if now.Before(r.expires) && len(t.retired)-n <= t.maxRetired {
			break
		}
		if e, ok := t.byID[r.id]; ok && e.expires.Equal(r.expires) {
			delete(t.byID, r.id)
		}
	}

	// Clearing lets the dropped ids be collected before the next append
	// moves the queue to a new array.
	clear(t.retired[:n])
	t.retired = t.retired[n:]
}
