package fileaccessreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/container"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/kube"
)

type podsByContainer map[string]*kube.Container

func (p podsByContainer) Lookup(id string) (*kube.Container, bool) {
	c, ok := p[id]
	return c, ok
}

// released collects what a release hands on, by container id.
type released map[string]struct {
	withPod bool
	records int
}

func (r released) handOn(o owner, records plog.LogRecordSlice) {
	r[o.container.ID] = struct {
		withPod bool
		records int
	}{o.pod != nil, records.Len()}
}

func holdRecords(h *podHold, id string, n int, now time.Time) {
	for range n {
		h.recordsOf(container.ID{ID: id}, now).AppendEmpty()
	}
}

func TestPodHold(t *testing.T) {
	start := time.Unix(1000, 0)
	wait := 2 * time.Second

	t.Run("records leave with their pod once it is known", func(t *testing.T) {
		h := newPodHold(wait, 100)
		holdRecords(h, "a", 3, start)
		pods := podsByContainer{}
		out := released{}
		assert.Zero(t, h.release(start.Add(time.Second), false, pods, out.handOn))
		assert.Empty(t, out, "nothing leaves before the pod or the end of the wait")

		pods["a"] = &kube.Container{PodName: "p"}
		assert.Zero(t, h.release(start.Add(time.Second), false, pods, out.handOn))
		assert.Equal(t, released{"a": {withPod: true, records: 3}}, out)
		assert.Zero(t, h.count)
	})

	t.Run("records leave without a pod when the wait is over", func(t *testing.T) {
		h := newPodHold(wait, 100)
		holdRecords(h, "a", 2, start)
		out := released{}
		assert.Equal(t, 2, h.release(start.Add(wait), false, podsByContainer{}, out.handOn))
		assert.Equal(t, released{"a": {withPod: false, records: 2}}, out)
	})

	t.Run("a container whose pod did not come is not held again for a wait", func(t *testing.T) {
		h := newPodHold(wait, 100)
		holdRecords(h, "a", 1, start)
		h.release(start.Add(wait), false, podsByContainer{}, released{}.handOn)
		assert.False(t, h.accepts("a", start.Add(wait+time.Second)))
		assert.True(t, h.accepts("b", start.Add(wait+time.Second)))
		assert.True(t, h.accepts("a", start.Add(2*wait)), "held again once the retry time has come")
	})

	t.Run("the bound counts accesses, however many records each brings", func(t *testing.T) {
		h := newPodHold(wait, 100)
		for range 3 {
			records := h.recordsOf(container.ID{ID: "a"}, start)
			records.AppendEmpty() // the process's exec record
			records.AppendEmpty() // its access
		}
		assert.Equal(t, 6, h.release(start.Add(wait), false, podsByContainer{}, released{}.handOn))
		assert.Zero(t, h.count)
	})

	t.Run("the hold is bounded", func(t *testing.T) {
		h := newPodHold(wait, 3)
		holdRecords(h, "a", 3, start)
		assert.False(t, h.accepts("b", start))
	})

	t.Run("no wait holds nothing", func(t *testing.T) {
		assert.False(t, newPodHold(0, 100).accepts("a", start))
	})

	t.Run("the final release hands on everything", func(t *testing.T) {
		h := newPodHold(wait, 100)
		holdRecords(h, "a", 1, start)
		holdRecords(h, "b", 1, start)
		out := released{}
		assert.Equal(t, 1, h.release(start, true, podsByContainer{"b": {PodName: "p"}}, out.handOn))
		assert.Equal(t, released{"a": {false, 1}, "b": {true, 1}}, out)
	})
}
