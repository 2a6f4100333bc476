package fileaccessreceiver

import (
	"runtime"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/convert"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/process"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

// The receiver reads the ring buffer on one goroutine and builds log records
// on others. Reading keeps the state every record depends on (the process
// table, containers, pods, the holds) and is cheap; building pdata is most
// of a record's cost, so it runs beside the reader, on copies of what the
// reader knew. Converters build batches side by side but hand them on one at
// a time, in the order the reader sent them, so that a process's exec record
// never follows its accesses. Records that waited in a hold are built by the
// reader and take their place in that order too.

// maxConverters bounds the converters: past a few, the reader is the limit.
const maxConverters = 4

// defaultConverters leaves one CPU to the reader, when there is more than one.
func defaultConverters() int {
	return min(max(runtime.GOMAXPROCS(0)-1, 1), maxConverters)
}

// pendingRecord is one record the reader has read and a converter will build:
// a file access or a process event, with copies of the process table's
// entries, so that a converter shares nothing the reader changes.
type pendingRecord struct {
	kind                  record.Kind
	file                  record.Record // KindFile
	event                 process.Event // KindExec, KindExit
	announce              bool          // KindFile: its process's exec record goes first
	process               process.Info  // valid when hasProcess
	parent                process.Info  // valid when hasParent
	owner                 owner         // whose resource the record goes under
	observed              pcommon.Timestamp
	hasProcess, hasParent bool
}

// context is the converter's view of the record's process and pod.
func (p *pendingRecord) context(includeArgs bool) convert.ProcessContext {
	pc := convert.ProcessContext{IncludeCommandArgs: includeArgs}
	if p.hasProcess {
		pc.Process = &p.process
	}
	if p.hasParent {
		pc.Parent = &p.parent
	}
	if p.owner.pod != nil {
		pc.Where = p.owner.pod.Where
	}
	return pc
}

// chunk is the records of one batch on their way from the reader to a
// converter. Chunks are reused, so their slices keep what they grew to.
type chunk struct {
	pending []pendingRecord
	count   int // log records, with announcements
	// built is a batch the reader built itself (records released from a
	// hold), sent in a chunk of its own with nothing pending.
	built plog.Logs
	seq   uint64 // the chunk's place in the order the reader sent them
}

// maxKeptPending bounds what a chunk keeps of its slice for the next batch,
// and what it starts with: a chunk of larger batches (max_batch_size above
// its default) gives its memory back, and one of smaller batches takes no
// more than they need.
const maxKeptPending = 1024

// converters builds and hands on the chunks the reader sends. A fixed set of
// chunks circulates between them: when every chunk is in flight, the reader
// waits for one and the ring buffer holds what arrives meanwhile, where the
// kernel counts what does not fit.
type converters struct {
	full chan *chunk
	free chan *chunk
	wg   sync.WaitGroup
	sent uint64 // chunks sent: the seq of the next one
	// handedOn is the seq of the chunk whose turn it is to be handed on.
	mu       sync.Mutex
	turn     *sync.Cond
	handedOn uint64
}

func (r *fileAccessReceiver) startConverters(n int) *converters {
	c := &converters{
		full: make(chan *chunk, 2*n),
		free: make(chan *chunk, 2*n+1),
	}
	c.turn = sync.NewCond(&c.mu)
	for range 2*n + 1 {
		c.free <- &chunk{}
	}
	c.wg.Add(n)
	for range n {
		go func() {
			defer c.wg.Done()
			for ch := range c.full {
				logs := ch.built
				if ch.count > 0 {
					b := r.newBatch()
					r.build(ch, &b)
					logs = b.logs
				}
				c.inTurn(ch.seq, func() { r.handOn(logs) })
				ch.reset()
				c.free <- ch
			}
		}()
	}
	return c
}

// send hands a chunk to the converters and returns an empty one, waiting
// while every chunk is being converted.
func (c *converters) send(ch *chunk) *chunk {
	ch.seq = c.sent
	c.sent++
	c.full <- ch
	return <-c.free
}

// inTurn runs handOn once every chunk sent before seq has been handed on.
// Chunks leave c.full in seq order, each to a running converter, so the one
// whose turn it is never waits on a later one.
func (c *converters) inTurn(seq uint64, handOn func()) {
	c.mu.Lock()
	for c.handedOn != seq {
		c.turn.Wait()
	}
	c.mu.Unlock()
	handOn()
	c.mu.Lock()
	c.handedOn++
	c.turn.Broadcast()
	c.mu.Unlock()
}

// stop converts what was sent and returns when all of it has been handed on.
func (c *converters) stop() {
	close(c.full)
	c.wg.Wait()
}

// build appends a chunk's records to a batch.
func (r *fileAccessReceiver) build(ch *chunk, b *batch) {
	for i := range ch.pending {
		p := &ch.pending[i]
		records := r.recordsOf(b, p.owner)
		pc := p.context(r.cfg.IncludeCommandArgs)
		if p.kind != record.KindFile {
			convert.AppendProcessEvent(records, p.kind, &p.event, pc, b.clock, p.observed)
			continue
		}
		if p.announce {
			event := announcement(&p.process)
			convert.AppendProcessEvent(records, record.KindExec, &event, pc, b.clock, p.observed)
		}
		convert.AppendRecord(records, &p.file, pc, b.clock, p.observed)
	}
}

// reset empties a chunk for reuse.
func (ch *chunk) reset() {
	clear(ch.pending) // drops the strings it held
	ch.pending, ch.count, ch.built = ch.pending[:0], 0, plog.Logs{}
	if cap(ch.pending) > maxKeptPending {
		ch.pending = nil
	}
}
