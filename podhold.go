package fileaccessreceiver

import (
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/container"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/kube"
)

// maxHeldRecords bounds the accesses whose records are held for their pods
// (each may bring its process's exec record along): at a few hundred bytes a
// record, a few megabytes, far more than containers starting at once produce
// within any sensible pod_wait.
const maxHeldRecords = 16384

// podLookup finds the pod of a container; *kube.Watcher is one.
type podLookup interface {
	Lookup(containerID string) (*kube.Container, bool)
}

// podHold keeps the records of containers whose pod is not known yet, for at
// most a wait, so that a container that starts before the pod watch has seen
// its pod, or just after the collector starts, still gets it. A container
// whose pod did not appear in time is not held again for another wait, so
// that containers outside any pod (a plain docker run on the node) are not
// delayed record after record.
type podHold struct {
	wait   time.Duration
	limit  int
	held   map[string]*heldRecords
	count  int
	gaveUp map[string]time.Time
}

type heldRecords struct {
	container container.ID
	records   plog.LogRecordSlice
	until     time.Time
	// accesses is how many times records were asked for: what count holds.
	accesses int
}

func newPodHold(wait time.Duration, limit int) *podHold {
	return &podHold{
		wait:   wait,
		limit:  limit,
		held:   make(map[string]*heldRecords),
		gaveUp: make(map[string]time.Time),
	}
}

// accepts says whether a record of the container can be held: the hold has
// room, and the container's pod has not just failed to appear.
func (h *podHold) accepts(containerID string, now time.Time) bool {
	if h.wait <= 0 || h.count >= h.limit {
		return false
	}
	if retry, ok := h.gaveUp[containerID]; ok {
		if now.Before(retry) {
			return false
		}
		delete(h.gaveUp, containerID)
	}
	return true
}

// recordsOf returns the slice to append one held record of the container to.
func (h *podHold) recordsOf(c container.ID, now time.Time) plog.LogRecordSlice {
	h.count++
	held, ok := h.held[c.ID]
	if !ok {
		held = &heldRecords{container: c, records: plog.NewLogRecordSlice(), until: now.Add(h.wait)}
		h.held[c.ID] = held
	}
	held.accesses++
	return held.records
}

// release hands on the held records whose pod is now known, and those whose
// wait is over (all of them when final is set) without their pod, returning
// how many went without.
func (h *podHold) release(now time.Time, final bool, pods podLookup, handOn func(owner, plog.LogRecordSlice)) (withoutPod int) {
	for id, held := range h.held {
		pod, ok := pods.Lookup(id)
		if !ok && !final && now.Before(held.until) {
			continue
		}
		n := held.records.Len()
		if !ok {
			withoutPod += n
			h.gaveUp[id] = now.Add(h.wait)
		}
		handOn(owner{container: held.container, pod: pod}, held.records)
		h.count -= held.accesses
		delete(h.held, id)
	}
	for id, retry := range h.gaveUp {
		if !now.Before(retry) {
			delete(h.gaveUp, id)
		}
	}
	return withoutPod
}
