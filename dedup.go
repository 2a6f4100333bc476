package fileaccessreceiver

import (
	"context"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/convert"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
)

// dedupGiveUp bounds how long past its window a record waits for the
// window's count, which the kernel's map may have evicted when more windows
// were open than it holds; the record then leaves counting itself only.
const dedupGiveUp = 5 * time.Second

// dedupID names a dedup window on both sides: the process, and the boot time
// of the record that opened it.
type dedupID struct {
	pid     uint32
	firstNs uint64
}

// dedupHold keeps each record that opened a dedup window until the window
// has ended and the kernel's count of its repeats is known, so that the one
// record of a window says how many accesses it stands for.
type dedupHold struct {
	window time.Duration
	held   map[dedupID]*dedupRecord
	// counts are windows taken from the kernel before their record was read.
	counts map[dedupID]dedupCount
	taken  []probe.DedupWindow
}

type dedupRecord struct {
	cgroupID uint64
	pid      uint32
	records  plog.LogRecordSlice
	heldAt   time.Time
}

type dedupCount struct {
	repeats uint64
	takenAt time.Time
}

func newDedupHold(window time.Duration) *dedupHold {
	return &dedupHold{
		window: window,
		held:   make(map[dedupID]*dedupRecord),
		counts: make(map[dedupID]dedupCount),
	}
}

// recordsOf returns where the record that opened a window goes until the
// window's count is known.
func (h *dedupHold) recordsOf(id dedupID, cgroupID uint64, now time.Time) plog.LogRecordSlice {
	held := &dedupRecord{cgroupID: cgroupID, pid: id.pid, records: plog.NewLogRecordSlice(), heldAt: now}
	h.held[id] = held
	return held.records
}

// releaseDedup takes the ended windows from the kernel and hands on their
// records, each with the number of accesses it stands for; final takes every
// window, ended or not, for a shutdown after the programs are detached.
func (r *fileAccessReceiver) releaseDedup(b *batch, p *probe.Probe, now time.Time, final bool) {
	h := r.dedup
	if h == nil {
		return
	}
	bootNs := uint64(math.MaxUint64)
	if !final {
		bootNs = bootTime()
	}
	windows, err := p.TakeEndedDedupWindows(bootNs, h.window, h.taken[:0])
	h.taken = windows[:0]
	if err != nil {
		r.set.Logger.Debug("Dedup windows not read", zap.Error(err))
	}
	for _, w := range windows {
		h.counts[dedupID{pid: w.PID, firstNs: w.FirstNs}] = dedupCount{repeats: w.Repeats, takenAt: now}
	}

	for id, held := range h.held {
		c, counted := h.counts[id]
		if !counted && !final && now.Sub(held.heldAt) < h.window+dedupGiveUp {
			continue
		}
		delete(h.counts, id)
		delete(h.held, id)
		convert.PutCount(held.records, 1+c.repeats)
		records, pod := r.recordsFor(b, held.cgroupID, held.pid, now)
		first := records.Len()
		held.records.MoveAndAppendTo(records)
		putPod(records, first, pod)
	}

	// A count whose record never came: the record failed to decode, and
	// its repeats are lost with it.
	for id, c := range h.counts {
		if final || now.Sub(c.takenAt) >= dedupGiveUp {
			delete(h.counts, id)
			r.telemetry.ReceiverFileAccessRecordsLost.Add(context.Background(), int64(c.repeats),
				metric.WithAttributes(attribute.String("receiver", r.set.ID.String()), attribute.String("reason", lostMalformed)))
		}
	}
}

// bootTime reads CLOCK_BOOTTIME, the kernel's clock for records and windows.
func bootTime() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return uint64(ts.Nano())
}
