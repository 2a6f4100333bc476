package fileaccessreceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/container"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/convert"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/kube"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/metadata"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/process"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

const (
	obsTransport = "ebpf"
	obsFormat    = "ringbuf"
	// warnEvery bounds how often a repeating condition (loss, a refusing
	// consumer) is logged; its counts go to telemetry all the time.
	warnEvery = time.Minute
	// maxProcesses bounds the process table, as the kernel's map of them.
	maxProcesses = 65536
	// exitedProcessGrace keeps an exited process's context for records that
	// arrive after its exit record.
	exitedProcessGrace = 30 * time.Second
	// retryFirstWait and retryMaxWait space the retries of a refused batch,
	// and retryBudget bounds them: the ring is not read while they last.
	retryFirstWait = 20 * time.Millisecond
	retryMaxWait   = 200 * time.Millisecond
	retryBudget    = time.Second
	// shutdownGrace bounds how long Shutdown waits for the next consumer to
	// take the last batches before it cancels them.
	shutdownGrace = 10 * time.Second
)

// Reasons a watched access did not become a log record, as the reason
// attribute of otelcol_receiver_file_access_records_lost.
const (
	lostRingFull = "ring_buffer_full"
	// lostProcessRingFull counts exec, clone and exit records, not accesses:
	// a lost exec leaves its process's records without its context.
	lostProcessRingFull = "process_ring_buffer_full"
	lostPathUnresolved  = "path_unresolved"
	lostPendingFull     = "kprobe_pending_full"
	lostMalformed       = "malformed"
)

type fileAccessReceiver struct {
	set       receiver.Settings
	cfg       *Config
	next      consumer.Logs
	obsrecv   *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	// receiverAttr names the receiver on its own metrics, as the standard
	// receiver metrics do.
	receiverAttr metric.MeasurementOption
	hostName     string

	processEvents processEvents
	// tableSize bounds the process table: maxProcesses, or less in tests.
	tableSize int
	// Used by run only: the process table, the container and pod of a
	// record, and the records being decoded.
	processes  *process.Table
	containers *container.Resolver
	pods       *kube.Watcher // nil unless kubernetes.enabled
	// kubeClient makes the pod watch's client; nil makes one from the
	// configuration. Tests set a fake.
	kubeClient func() (kubernetes.Interface, error)
	hold       *podHold
	// filter judges the paths user space resolves (see resolveWritten).
	filter *probe.PathFilter
	dedup  *dedupHold // nil unless dedup.window is set
	// apiErrors is the pod watch's error count last reported.
	apiErrors uint64
	file      record.Record
	event     process.Event
	// pending is the chunk the reader fills, and converters where it goes
	// when it holds a batch or the flush interval ends.
	pending    *chunk
	converters *converters
	// converterCount is how many converters run: defaultConverters, or
	// what a test sets.
	converterCount int
	// refusals tracks the batches the next consumer refused, across
	// converters.
	refusals refusals

	mu     sync.Mutex // serializes Start and Shutdown
	probe  *probe.Probe
	reader *ringbuf.Reader
	done   chan struct{}
	// stopping tells run that a flush of the reader is Shutdown's: hand on
	// what is left and return.
	stopping atomic.Bool
	// consumeCtx is passed to the next consumer; Shutdown cancels it when
	// its own context ends or its grace runs out.
	consumeCtx    context.Context
	cancelConsume context.CancelFunc
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*fileAccessReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              obsTransport,
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	telemetry, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	hostName, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("reading the host name: %w", err)
	}
	if cfg.Kubernetes.Enabled {
		// In a pod the host name is the pod's, which changes with every
		// rollout; the node's name is what the records are about.
		hostName = cfg.Kubernetes.NodeName
	}
	events, err := parseProcessEvents(cfg.ProcessEvents)
	if err != nil {
		return nil, err
	}
	return &fileAccessReceiver{
		processEvents:  events,
		tableSize:      maxProcesses,
		converterCount: defaultConverters(),
		set:            set,
		cfg:            cfg,
		next:           next,
		obsrecv:        obsrecv,
		telemetry:      telemetry,
		receiverAttr:   metric.WithAttributes(attribute.String("receiver", set.ID.String())),
		hostName:       hostName,
	}, nil
}

// Start loads and attaches the kernel programs and starts reading records.
func (r *fileAccessReceiver) Start(_ context.Context, host component.Host) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.probe != nil {
		return errors.New("file_access receiver started twice")
	}

	opts, err := r.cfg.probeOptions()
	if err != nil {
		return err
	}
	opts.Logger = r.set.Logger
	if err := probe.Preflight(); err != nil {
		return err
	}
	p, err := probe.Open(opts)
	if err != nil {
		return err
	}
	reader, err := p.NewReader()
	if err != nil {
		p.Close()
		return fmt.Errorf("opening the ring buffer: %w", err)
	}

	r.processes = process.NewTable(r.hostName, r.tableSize, exitedProcessGrace)
	// The kernel leaves the executable out of the records of a process whose
	// exec it reported; once the table has lost that, they must carry it.
	r.processes.OnEvictRunning(func(k process.Key) {
		if err := p.ForgetExecRecord(k.PID, k.ExecNs); err != nil {
			r.set.Logger.Debug("Evicted process not forgotten in the kernel", zap.Error(err))
		}
	})
	seeds, err := r.processes.Scan("/proc")
	if err != nil {
		reader.Close()
		p.Close()
		return fmt.Errorf("scanning /proc for running processes: %w", err)
	}
	for _, seed := range seeds {
		if err := p.SeedProcess(seed.PID, seed.ExecNs, seed.ParentExecNs, seed.ContainerInit); err != nil {
			r.set.Logger.Debug("Process not seeded", zap.Error(err))
		}
	}

	if r.filter, err = probe.NewPathFilter(opts.IncludePaths, opts.ExcludePaths); err != nil {
		reader.Close()
		p.Close()
		return err
	}
	r.dedup = nil
	if r.cfg.Dedup.Window > 0 {
		r.dedup = newDedupHold(r.cfg.Dedup.Window)
	}
	if err := r.startIdentity(); err != nil {
		reader.Close()
		p.Close()
		return err
	}

	r.probe, r.reader, r.done = p, reader, make(chan struct{})
	r.stopping.Store(false)
	r.consumeCtx, r.cancelConsume = context.WithCancel(context.Background())
	r.set.Logger.Info("Watching file accesses",
		zap.String("attach_mode", string(p.Mode)),
		zap.Strings("programs", p.Attached),
		zap.Bool("btf_cast_reads", p.CastReads),
		zap.Strings("include_paths", opts.IncludePaths),
		zap.Strings("exclude_paths", opts.ExcludePaths),
		zap.Strings("operations", r.cfg.Operations),
		zap.Int("running_processes", len(seeds)),
		zap.String("process_events", r.cfg.ProcessEvents))
	go r.run(host, p, reader)
	return nil
}

// Shutdown detaches the programs, hands on the records already in the ring
// buffer, and unloads. It is safe before Start and more than once.
func (r *fileAccessReceiver) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.probe == nil {
		return nil
	}

	// Detached first, so that nothing arrives after the ring is drained.
	err := r.probe.Detach()
	r.stopping.Store(true)
	err = errors.Join(err, r.reader.Flush())

	// A consumer that retries a failing export must not hold shutdown forever.
	stopCancel := context.AfterFunc(ctx, r.cancelConsume)
	grace := time.AfterFunc(shutdownGrace, r.cancelConsume)
	<-r.done
	stopCancel()
	grace.Stop()
	r.cancelConsume()

	err = errors.Join(err, r.reader.Close(), r.probe.Close())
	if r.pods != nil {
		r.pods.Stop()
		r.pods = nil
	}
	r.telemetry.Shutdown()
	r.probe, r.reader = nil, nil
	return err
}

// run reads the ring buffer until the reader is closed, handing records on
// in batches of at most MaxBatchSize, and at least every FlushInterval:
// records that wait in a hold from its own batch, the rest through the
// converters. It returns once the converters have handed on all it sent.
func (r *fileAccessReceiver) run(host component.Host, p *probe.Probe, reader *ringbuf.Reader) {
	defer close(r.done)

	b := r.newBatch()
	loss := lossTracker{
		probe:     p,
		telemetry: r.telemetry,
		logger:    r.set.Logger,
		receiver:  attribute.String("receiver", r.set.ID.String()),
	}
	loss.start()
	r.converters = r.startConverters(r.converterCount)
	r.pending = <-r.converters.free
	defer r.converters.stop()
	var sample ringbuf.Record
	deadline := time.Now().Add(r.cfg.FlushInterval)
	for {
		reader.SetDeadline(deadline)
		err := reader.ReadInto(&sample)
		now := time.Now()
		switch {
		case err == nil:
			if err := r.handle(&b, sample.RawSample, now); err != nil {
				loss.add(lostMalformed, 1)
				loss.warn(lostMalformed, err)
				break
			}
			if r.pending.count >= r.cfg.MaxBatchSize {
				r.sendPending()
			}
			if b.logs.LogRecordCount() >= r.cfg.MaxBatchSize {
				r.sendBuilt(&b)
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
		case errors.Is(err, ringbuf.ErrFlushed) && r.stopping.Load():
			r.releaseDedup(&b, p, now, true)
			r.releaseHeld(&b, now, true)
			r.sendBuilt(&b)
			loss.poll()
			return
		case errors.Is(err, ringbuf.ErrFlushed):
		default:
			r.sendBuilt(&b)
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(fmt.Errorf("reading the ring buffer: %w", err)))
			return
		}

		if !now.Before(deadline) {
			r.releaseDedup(&b, p, now, false)
			r.releaseHeld(&b, now, false)
			r.sendBuilt(&b)
			loss.poll()
			deadline = now.Add(r.cfg.FlushInterval)
		}
	}
}

// handle turns one ring buffer sample into the batch's records: file
// accesses with their process's context, and process events as the
// process_events setting asks.
func (r *fileAccessReceiver) handle(b *batch, sample []byte, now time.Time) error {
	kind, err := record.KindOf(sample)
	if err != nil {
		return err
	}
	observed := pcommon.NewTimestampFromTime(now)
	if kind == record.KindFile {
		return r.handleFile(b, sample, now, observed)
	}
	return r.handleProcess(b, kind, sample, now, observed)
}

// handleFile queues a file access for the converters, after its process's
// exec record if the process is announced now. A record that waits (for its
// container's pod, or for the count of the dedup window it opened) is built
// now, into its hold.
func (r *fileAccessReceiver) handleFile(b *batch, sample []byte, now time.Time, observed pcommon.Timestamp) error {
	if err := record.Decode(sample, &r.file); err != nil {
		return err
	}
	if r.file.PathAsWritten && !r.resolveWritten(&r.file) {
		return nil
	}
	o, held := r.ownerOf(r.file.CgroupID, r.file.PID, now)
	info := r.processes.Lookup(r.file.PID, r.file.ExecNs)
	if r.file.ExecutableOfExec {
		r.fillExecutable(&r.file, info)
	}
	announce := r.processEvents == processEventsWatched && info != nil && !info.Announced
	if announce {
		info.Announced = true
	}
	dedup := r.file.Dedup && r.dedup != nil
	if !held && !dedup {
		r.nextPending(record.KindFile, o, info, observed, announce).file = r.file
		return nil
	}

	recordsOfOwner := func() plog.LogRecordSlice {
		if held {
			return r.hold.recordsOf(o.container, now)
		}
		return r.recordsOf(b, o)
	}
	pc := r.processContext(info, o.pod)
	if announce {
		event := announcement(info)
		convert.AppendProcessEvent(recordsOfOwner(), record.KindExec, &event, pc, b.clock, observed)
	}
	if dedup {
		// Its resource and pod are found again when its window ends.
		held := r.dedup.recordsOf(dedupID{pid: r.file.PID, firstNs: r.file.BootNs}, r.file.CgroupID, now)
		pc.Where = ""
		convert.AppendRecord(held, &r.file, pc, b.clock, observed)
		return nil
	}
	convert.AppendRecord(recordsOfOwner(), &r.file, pc, b.clock, observed)
	return nil
}

// nextPending returns the next record of the pending chunk to fill in, with
// its kind, owner, process, time and announcement set (an announced access
// becomes two log records). A chunk that would outgrow a batch is sent first.
func (r *fileAccessReceiver) nextPending(kind record.Kind, o owner, info *process.Info, observed pcommon.Timestamp, announce bool) *pendingRecord {
	records := 1
	if announce {
		records = 2
	}
	if r.pending.count > 0 && r.pending.count+records > r.cfg.MaxBatchSize {
		r.pending = r.converters.send(r.pending)
	}
	r.pending.count += records
	if r.pending.pending == nil {
		r.pending.pending = make([]pendingRecord, 0, min(r.cfg.MaxBatchSize, maxKeptPending))
	}
	r.pending.pending = append(r.pending.pending, pendingRecord{kind: kind, owner: o, observed: observed, announce: announce})
	p := &r.pending.pending[len(r.pending.pending)-1]
	if info != nil {
		p.process, p.hasProcess = *info, true
		if parent := r.processes.Parent(info); parent != nil {
			p.parent, p.hasParent = *parent, true
		}
	}
	return p
}

// sendPending hands what the pending chunk holds to the converters.
func (r *fileAccessReceiver) sendPending() {
	if r.pending.count > 0 {
		r.pending = r.converters.send(r.pending)
	}
}

// sendBuilt hands what is pending to the converters, then the reader's own
// batch (records released from a hold), so that it keeps its place in the
// order in which batches are handed on.
func (r *fileAccessReceiver) sendBuilt(b *batch) {
	r.sendPending()
	if b.logs.LogRecordCount() == 0 {
		// Re-read the clocks anyway, so wall time follows NTP adjustments.
		b.clock = convert.NewClock()
		return
	}
	r.pending.built = b.logs
	r.pending = r.converters.send(r.pending)
	*b = r.newBatch()
}

// fillExecutable gives a record the executable the kernel left out, from the
// exec record of its process, or, when the table no longer has that, from
// procfs. The kernel leaves it out no more once the table has evicted the
// process (ForgetExecRecord), so this is for records already in the ring then.
//
// Known limitation: procfs names the path as the collector sees it, and has
// nothing once the process has exited.
func (r *fileAccessReceiver) fillExecutable(rec *record.Record, info *process.Info) {
	if info != nil && info.Executable != "" {
		rec.Executable, rec.ExecutableTruncated = info.Executable, info.ExecutableTruncated
		return
	}
	rec.Executable, _ = os.Readlink(filepath.Join(procRoot, strconv.FormatUint(uint64(rec.PID), 10), "exe"))
	rec.Executable = strings.TrimSuffix(rec.Executable, " (deleted)")
}

// resolveWritten cleans the path of a record the kernel could not filter,
// and reports whether the prefix filter keeps it.
func (r *fileAccessReceiver) resolveWritten(rec *record.Record) bool {
	rec.Path = resolveWrittenPath(rec.Path)
	rec.PathAsWritten = false
	return r.filter.Watched(rec.Path)
}

// handleProcess keeps the process table up to date with an exec, clone or
// exit, and adds the exec and exit records process_events asks for.
func (r *fileAccessReceiver) handleProcess(b *batch, kind record.Kind, sample []byte, now time.Time, observed pcommon.Timestamp) error {
	if _, err := record.DecodeProcess(sample, &r.event); err != nil {
		return err
	}
	var info *process.Info
	switch kind {
	case record.KindExec:
		info = r.processes.Exec(&r.event)
		if r.processEvents != processEventsAll {
			return nil
		}
		info.Announced = true
	case record.KindClone:
		r.processes.Clone(&r.event)
		return nil
	case record.KindExit:
		info = r.processes.Exit(&r.event)
		announced := info != nil && info.Announced
		if r.processEvents != processEventsAll && (r.processEvents != processEventsWatched || !announced) {
			return nil
		}
	default:
		return nil
	}
	o, held := r.ownerOf(r.event.CgroupID, r.event.PID, now)
	if held {
		records := r.hold.recordsOf(o.container, now)
		convert.AppendProcessEvent(records, kind, &r.event, r.processContext(info, nil), b.clock, observed)
		return nil
	}
	r.nextPending(kind, o, info, observed, false).event = r.event
	return nil
}

// processContext is what a record carries of its process and, when known,
// of the pod it runs in.
func (r *fileAccessReceiver) processContext(info *process.Info, pod *kube.Container) convert.ProcessContext {
	pc := convert.ProcessContext{Process: info, IncludeCommandArgs: r.cfg.IncludeCommandArgs}
	if info != nil {
		pc.Parent = r.processes.Parent(info)
	}
	if pod != nil {
		pc.Where = pod.Where
	}
	return pc
}

// announcement is the exec record of a process first seen touching a watched
// path, dated at its exec.
func announcement(p *process.Info) process.Event {
	return process.Event{
		EventNs:             p.Key.ExecNs,
		ExecNs:              p.Key.ExecNs,
		ParentExecNs:        p.ParentKey.ExecNs,
		StartNs:             p.StartNs,
		CgroupID:            p.CgroupID,
		PID:                 p.Key.PID,
		PPID:                p.PPID,
		NsPID:               p.NsPID,
		UID:                 p.UID,
		EUID:                p.EUID,
		GID:                 p.GID,
		EGID:                p.EGID,
		AUID:                p.AUID,
		Executable:          p.Executable,
		ExecutableTruncated: p.ExecutableTruncated,
		Cwd:                 p.Cwd,
		Args:                p.Args,
		ArgsTruncated:       p.ArgsTruncated,
	}
}

// handOn gives a batch to the next consumer.
func (r *fileAccessReceiver) handOn(logs plog.Logs) {
	n := logs.LogRecordCount()
	ctx := r.obsrecv.StartLogsOp(r.consumeCtx)
	err := r.consume(ctx, logs)
	r.obsrecv.EndLogsOp(ctx, obsFormat, n, err)
	r.refusals.note(n, err, r.set.Logger)
}

// refusals logs, at most every warnEvery, that the next consumer refuses
// records, and once when it takes them again. Converters share it.
type refusals struct {
	mu   sync.Mutex
	last time.Time // when a refusal was last logged
	// dropped counts the records refused since the consumer began refusing.
	dropped int
}

// refusing says whether the last batch was refused.
func (f *refusals) refusing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped > 0
}

func (f *refusals) note(n int, err error, logger *zap.Logger) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil:
		f.dropped += n
		if time.Since(f.last) > warnEvery {
			f.last = time.Now()
			logger.Warn("Next consumer refused file access records; they are dropped",
				zap.Int("records", n), zap.Error(err))
		}
	case f.dropped > 0:
		logger.Info("Next consumer takes file access records again",
			zap.Int("dropped", f.dropped))
		f.dropped = 0
	}
}

// consume hands logs to the next consumer. A refusal that is not permanent,
// like a memory_limiter's while memory is high, is retried with backoff. But
// batches are handed on in order, so while one is retried the converters
// stop, the chunks run out and the ring buffer fills: after retryBudget the
// batch is given up (and counted as refused), and while the consumer goes on
// refusing, each batch after it is tried once.
func (r *fileAccessReceiver) consume(ctx context.Context, logs plog.Logs) error {
	wait := retryFirstWait
	giveUp := time.Now().Add(retryBudget)
	if r.refusals.refusing() {
		giveUp = time.Time{}
	}
	for {
		err := r.next.ConsumeLogs(ctx, logs)
		if err == nil || consumererror.IsPermanent(err) || time.Now().Add(wait).After(giveUp) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
		wait = min(2*wait, retryMaxWait)
	}
}

// lossTracker turns the kernel's drop counters into telemetry and
// rate-limited warnings.
type lossTracker struct {
	probe     *probe.Probe
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger
	receiver  attribute.KeyValue // as the standard receiver metrics name it
	last      probe.Counters
	warned    map[string]time.Time
	// losing holds, per reason, what was lost since the loss began; a poll
	// with no new loss ends it, and says so.
	losing map[string]uint64
}

// start reports every reason at zero, so that dashboards and alerts see the
// series before the first loss.
func (l *lossTracker) start() {
	for _, reason := range []string{lostRingFull, lostProcessRingFull, lostPathUnresolved, lostPendingFull, lostMalformed} {
		l.telemetry.ReceiverFileAccessRecordsLost.Add(context.Background(), 0,
			metric.WithAttributes(l.receiver, attribute.String("reason", reason)))
	}
}

func (l *lossTracker) add(reason string, n uint64) {
	if n == 0 {
		return
	}
	l.telemetry.ReceiverFileAccessRecordsLost.Add(context.Background(), int64(n),
		metric.WithAttributes(l.receiver, attribute.String("reason", reason)))
}

func (l *lossTracker) warn(reason string, err error) {
	if l.warned == nil {
		l.warned = make(map[string]time.Time)
	}
	if time.Since(l.warned[reason]) < warnEvery {
		return
	}
	l.warned[reason] = time.Now()
	l.logger.Warn("File access records lost; otelcol_receiver_file_access_records_lost counts them",
		zap.String("reason", reason), zap.Error(err))
}

func (l *lossTracker) poll() {
	now, err := l.probe.ReadCounters()
	if err != nil {
		l.warn("reading_counters", err)
		return
	}
	deltas := []struct {
		reason string
		n      uint64
		hint   string
	}{
		{lostRingFull, now.RingFull - l.last.RingFull, "raise ring_buffer_size or narrow include_paths"},
		{lostProcessRingFull, now.ProcessRingFull - l.last.ProcessRingFull, "raise ring_buffer_size"},
		{lostPathUnresolved, now.PathUnresolved - l.last.PathUnresolved, "the path is deeper than the kernel walk follows"},
		{lostPendingFull, now.PendingFull - l.last.PendingFull, "too many hooks in flight at once in kprobe mode"},
	}
	l.last = now
	if l.losing == nil {
		l.losing = make(map[string]uint64)
	}
	for _, d := range deltas {
		if d.n > 0 {
			l.add(d.reason, d.n)
			l.losing[d.reason] += d.n
			l.warn(d.reason, fmt.Errorf("%d lost since the last check: %s", d.n, d.hint))
		} else if lost, ok := l.losing[d.reason]; ok {
			delete(l.losing, d.reason)
			l.logger.Info("File access records are no longer lost",
				zap.String("reason", d.reason), zap.Uint64("lost", lost))
		}
	}
}
