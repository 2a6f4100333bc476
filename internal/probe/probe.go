// Package probe loads the file access programs into the kernel, attaches them
// in one of the attach modes and hands out the ring buffer they write to.
package probe

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Options say what to watch and how to attach.
type Options struct {
	Mode Mode
	// IncludePaths and ExcludePaths are prefixes as NormalizePrefix returns them.
	// The longest matching prefix decides whether a path is watched.
	IncludePaths []string
	ExcludePaths []string
	Ops          []FileaccessOp
	// RingBufferSize is in bytes: a power of two and a multiple of the page size.
	RingBufferSize uint32
	// IgnorePID is a process whose accesses are never reported: the collector
	// itself, so that its own reads and writes cannot feed back into records.
	// Known limitation: the kernel compares it with the pid in the initial pid
	// namespace, so a collector in a pid namespace of its own (a container
	// without hostPID) is not recognized and may report its own accesses.
	IgnorePID uint32
	// ExcludeContainerInit leaves out the records of processes in a
	// container's init tree: its pid 1 and what that forks, as opposed to
	// processes entered from outside, like kubectl exec.
	ExcludeContainerInit bool
	// DedupWindow, when not zero, makes the accesses of one process to one
	// file with one operation within one window a single record; see
	// TakeEndedDedupWindows.
	DedupWindow time.Duration
	Logger      *zap.Logger
}

// Probe is the loaded and attached programs.
type Probe struct {
	// Mode is the attach mode in use, never ModeAuto.
	Mode Mode
	// Attached names each attached program and its kernel target.
	Attached []string
	// CastReads says the file access program reads kernel memory with plain
	// loads through bpf_rdonly_cast: a tp_btf or fexit program on a kernel
	// that has the cast (6.2 and later). Otherwise it makes a helper call per
	// read, which costs more on every access.
	CastReads bool
	coll      *ebpf.Collection
	links     []link.Link
}

// Open loads and attaches the programs. With ModeAuto it takes the first mode
// that both loads and attaches, and logs why the ones before it did not.
func Open(opts Options) (*Probe, error) {
	spec, err := LoadFileaccess()
	if err != nil {
		return nil, fmt.Errorf("loading the embedded BPF object: %w", err)
	}
	if err := configure(spec, opts); err != nil {
		return nil, err
	}

	if opts.Mode != ModeAuto {
		p, err := openMode(spec, opts, opts.Mode)
		if err != nil {
			return nil, fmt.Errorf("attach mode %s is not usable on this kernel: %w", opts.Mode, err)
		}
		return p, nil
	}

	var failures []string
	for _, mode := range []Mode{ModeFentry, ModeKprobe, ModeTracepoint} {
		p, err := openMode(spec, opts, mode)
		if err == nil {
			opts.Logger.Info("Attach mode chosen",
				zap.String("mode", string(mode)),
				zap.Strings("cheaper_modes_failed", failures))
			return p, nil
		}
		failures = append(failures, fmt.Sprintf("%s: %v", mode, err))
	}
	return nil, fmt.Errorf("no attach mode works on this kernel (%s)", strings.Join(failures, "; "))
}

func configure(spec *ebpf.CollectionSpec, opts Options) error {
	var watched uint32
	for _, op := range opts.Ops {
		watched |= 1 << op
	}
	if err := spec.Variables["watched_ops"].Set(watched); err != nil {
		return fmt.Errorf("setting watched operations: %w", err)
	}
	if err := spec.Variables["self_tgid"].Set(opts.IgnorePID); err != nil {
		return fmt.Errorf("setting the ignored pid: %w", err)
	}
	var excludeInit uint32
	if opts.ExcludeContainerInit {
		excludeInit = 1
	}
	if err := spec.Variables["exclude_container_init"].Set(excludeInit); err != nil {
		return fmt.Errorf("setting the container init exclusion: %w", err)
	}
	if err := spec.Variables["dedup_window_ns"].Set(uint64(opts.DedupWindow.Nanoseconds())); err != nil {
		return fmt.Errorf("setting the dedup window: %w", err)
	}
	// The reader is woken when a quarter of the ring is unread, past three
	// quarters at every 64th of the ring, and in the last 64th by every
	// record; otherwise it looks on its own schedule. The size is a power of
	// two of at least a page.
	size := uint64(opts.RingBufferSize)
	if err := spec.Variables["wakeup_bytes"].Set(size / 4); err != nil {
		return fmt.Errorf("setting the ring's wakeup level: %w", err)
	}
	if err := spec.Variables["urgent_bytes"].Set(size / 4 * 3); err != nil {
		return fmt.Errorf("setting the ring's urgent wakeup level: %w", err)
	}
	if err := spec.Variables["urgent_shift"].Set(uint32(bits.Len64(size/64) - 1)); err != nil {
		return fmt.Errorf("setting the ring's urgent wakeup step: %w", err)
	}
	if err := spec.Variables["full_bytes"].Set(size - size/64); err != nil {
		return fmt.Errorf("setting the ring's last wakeup level: %w", err)
	}
	var casts uint32
	if kernelHasFunc("bpf_rdonly_cast") {
		casts = 1
	}
	if err := spec.Variables["btf_casts"].Set(casts); err != nil {
		return fmt.Errorf("setting whether the kernel has BTF casts: %w", err)
	}
	spec.Maps["records"].MaxEntries = opts.RingBufferSize
	return nil
}

// kernelHasFunc says whether the running kernel's BTF describes a function:
// the typed programs read kernel memory through bpf_rdonly_cast where it
// exists (6.2 and later) and with helper calls elsewhere.
func kernelHasFunc(name string) bool {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return false
	}
	var fn *btf.Func
	return spec.TypeByName(name, &fn) == nil
}

// openMode loads only the programs of one mode: programs of the other modes
// may not even load on this kernel.
func openMode(base *ebpf.CollectionSpec, opts Options, mode Mode) (*Probe, error) {
	if mode == ModeTracepoint {
		p, btfErr := openPrograms(base, opts, mode, []attachment{{program: "btf_sys_exit", kind: attachTracing}})
		if btfErr == nil {
			return p, nil
		}
		// Slower, but it works where tp_btf does not.
		opts.Logger.Info("The tp_btf program is not usable; trying the raw tracepoint", zap.Error(btfErr))
		p, rawErr := openPrograms(base, opts, mode, []attachment{{program: "raw_sys_exit", kind: attachRawTracepoint, target: "sys_exit"}})
		if rawErr != nil {
			return nil, fmt.Errorf("tp_btf: %v; raw tracepoint: %w", btfErr, rawErr)
		}
		return p, nil
	}

	if mode == ModeKprobe {
		if err := kprobesAvailable(); err != nil {
			return nil, err
		}
	}
	attachments, err := hookAttachments(mode, opts.Logger)
	if err != nil {
		return nil, err
	}
	p, err := openPrograms(base, opts, mode, attachments)
	if mode == ModeFentry && errors.Is(err, unix.EPERM) {
		// The library's hint on EPERM is about memlock, which kernels since 5.11
		// no longer charge; for tracing programs EPERM means the kernel refuses them.
		return nil, fmt.Errorf("the kernel refuses fentry programs with EPERM (no BPF trampolines here, or a security policy forbids them): %w", err)
	}
	if mode == ModeKprobe && errors.Is(err, unix.EACCES) {
		if level, ok := perfEventParanoia(); ok && level > 2 {
			// Debian and Ubuntu patch the kernel so that this level lets only
			// CAP_SYS_ADMIN open perf events, which is how kprobes attach.
			return nil, fmt.Errorf("kernel.perf_event_paranoid is %d, which on this kernel leaves kprobes to CAP_SYS_ADMIN: set it to 2, add CAP_SYS_ADMIN, or use attach fentry or tracepoint: %w", level, err)
		}
	}
	return p, err
}

// perfEventParanoia reads kernel.perf_event_paranoid.
func perfEventParanoia() (int, bool) {
	b, err := os.ReadFile("/proc/sys/kernel/perf_event_paranoid")
	if err != nil {
		return 0, false
	}
	level, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return level, err == nil
}

// kprobePMU is the perf event source kprobes attach through; it exists only
// in kernels built with kprobe events.
const kprobePMU = "/sys/bus/event_source/devices/kprobe"

// kprobesAvailable says up front that a kernel has no kprobes, instead of the
// library's fallback error about tracefs not being mounted.
func kprobesAvailable() error {
	if _, err := os.Stat(kprobePMU); err != nil {
		return fmt.Errorf("the kernel has no kprobes (%s is missing: built without CONFIG_KPROBES or CONFIG_KPROBE_EVENTS)", kprobePMU)
	}
	return nil
}

type attachKind int

const (
	attachTracing attachKind = iota // fentry, fexit, tp_btf: the target is in the program
	attachKprobe
	attachKretprobe
	attachRawTracepoint
)

type attachment struct {
	program string
	kind    attachKind
	target  string
}

// hookAttachments lists the programs of the fentry or kprobe mode, leaving
// out hooks the running kernel does not have.
func hookAttachments(mode Mode, logger *zap.Logger) ([]attachment, error) {
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("reading kernel BTF: %w", err)
	}

	var attachments []attachment
	for _, h := range lsmHooks {
		var fn *btf.Func
		if err := kernel.TypeByName(h.function, &fn); err != nil {
			if h.required {
				return nil, fmt.Errorf("the kernel has no %s", h.function)
			}
			logger.Warn("Kernel has no such hook; its accesses are not reported",
				zap.String("hook", h.function), zap.String("mode", string(mode)))
			continue
		}
		switch mode {
		case ModeFentry:
			attachments = append(attachments, attachment{program: h.fexit, kind: attachTracing})
		case ModeKprobe:
			attachments = append(attachments,
				attachment{program: h.kprobe, kind: attachKprobe, target: h.function},
				attachment{program: h.kretprobe, kind: attachKretprobe, target: h.function})
		}
	}
	// The unwatched-file cache is right only while every rename is counted.
	switch mode {
	case ModeFentry:
		attachments = append(attachments, attachment{program: "fexit_vfs_rename", kind: attachTracing})
	case ModeKprobe:
		attachments = append(attachments, attachment{program: "kretprobe_vfs_rename", kind: attachKretprobe, target: "vfs_rename"})
	}
	return attachments, nil
}

// processAttachments track exec, clone and exit in every mode: the
// scheduler's tracepoints exist on every kernel the receiver runs on.
var processAttachments = []attachment{
	{program: "process_exec", kind: attachRawTracepoint, target: "sched_process_exec"},
	{program: "process_clone", kind: attachRawTracepoint, target: "sched_process_fork"},
	{program: "process_exit", kind: attachRawTracepoint, target: "sched_process_exit"},
}

func openPrograms(base *ebpf.CollectionSpec, opts Options, mode Mode, attachments []attachment) (*Probe, error) {
	attachments = append(processAttachments[:len(processAttachments):len(processAttachments)], attachments...)
	spec := base.Copy()
	keep := make(map[string]bool, len(attachments))
	for _, a := range attachments {
		keep[a.program] = true
	}
	for name := range spec.Programs {
		if !keep[name] {
			delete(spec.Programs, name)
		}
	}

	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil, fmt.Errorf("loading programs: %w", err)
	}
	p := &Probe{Mode: mode, coll: coll}
	var casts uint32
	if err := spec.Variables["btf_casts"].Get(&casts); err != nil {
		p.Close()
		return nil, fmt.Errorf("reading whether the programs cast: %w", err)
	}
	for _, a := range attachments {
		if a.kind == attachTracing && casts == 1 {
			p.CastReads = true
		}
	}

	if err := p.fillPrefixes(opts); err != nil {
		p.Close()
		return nil, err
	}
	for _, a := range attachments {
		l, err := attach(coll.Programs[a.program], a)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("attaching %s: %w", a.program, err)
		}
		p.links = append(p.links, l)
		p.Attached = append(p.Attached, a.describe())
	}
	return p, nil
}

func (a attachment) describe() string {
	switch a.kind {
	case attachKprobe:
		return "kprobe:" + a.target
	case attachKretprobe:
		return "kretprobe:" + a.target
	case attachRawTracepoint:
		return "raw_tracepoint:" + a.target
	}
	return a.program
}

func attach(prog *ebpf.Program, a attachment) (link.Link, error) {
	switch a.kind {
	case attachKprobe:
		return link.Kprobe(a.target, prog, nil)
	case attachKretprobe:
		return link.Kretprobe(a.target, prog, nil)
	case attachRawTracepoint:
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: a.target, Program: prog})
	default:
		return link.AttachTracing(link.TracingOptions{Program: prog})
	}
}

func (p *Probe) fillPrefixes(opts Options) error {
	prefixes := p.coll.Maps["prefixes"]
	put := func(list []string, verdict FileaccessVerdict) error {
		for _, prefix := range list {
			key := prefixKey(prefix)
			if err := prefixes.Put(&key, uint8(verdict)); err != nil {
				return fmt.Errorf("adding prefix %q to the kernel filter: %w", prefix, err)
			}
		}
		return nil
	}
	if err := put(opts.IncludePaths, FileaccessVerdictVERDICT_INCLUDE); err != nil {
		return err
	}
	return put(opts.ExcludePaths, FileaccessVerdictVERDICT_EXCLUDE)
}

// SeedProcess tells the kernel about a process that ran before the programs
// attached, so that its file records carry its key and its children inherit
// its place in or out of a container's init tree. An entry the kernel has
// made since (an exec or clone seen meanwhile) is kept.
func (p *Probe) SeedProcess(pid uint32, execNs, parentExecNs uint64, containerInit bool) error {
	value := FileaccessProcess{ExecNs: execNs, ParentExecNs: parentExecNs}
	if containerInit {
		value.Flags = uint32(FileaccessProcessFlagPROCESS_CONTAINER_INIT)
	}
	err := p.coll.Maps["processes"].Update(pid, &value, ebpf.UpdateNoExist)
	if err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
		return fmt.Errorf("seeding process %d: %w", pid, err)
	}
	return nil
}

// ForgetExecRecord tells the programs that user space no longer has the exec
// record of the process pid as it ran since execNs, so that its file records
// carry their executable's path again.
//
// Known limitation: the entry is read and written back, so an exec of that
// very process between the two is overwritten, and its records are then
// keyed by the exec before it.
func (p *Probe) ForgetExecRecord(pid uint32, execNs uint64) error {
	var value FileaccessProcess
	processes := p.coll.Maps["processes"]
	if err := processes.Lookup(pid, &value); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		return fmt.Errorf("reading process %d: %w", pid, err)
	}
	sent := uint32(FileaccessProcessFlagPROCESS_EXEC_SENT)
	if value.ExecNs != execNs || value.Flags&sent == 0 {
		return nil
	}
	value.Flags &^= sent
	if err := processes.Update(pid, &value, ebpf.UpdateExist); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("updating process %d: %w", pid, err)
	}
	return nil
}

// NewReader opens the ring buffer the programs write records to.
func (p *Probe) NewReader() (*ringbuf.Reader, error) {
	return ringbuf.NewReader(p.coll.Maps["records"])
}

// Counters are the kernel side's drop counters, summed over CPUs.
type Counters struct {
	// RingFull counts file accesses lost because the ring buffer had no room.
	RingFull uint64
	// ProcessRingFull counts exec, clone and exit records lost so.
	ProcessRingFull uint64
	// PathUnresolved counts accesses whose path walk did not reach a root
	// within the walk's bound, so their path could not be matched.
	PathUnresolved uint64
	// PendingFull counts kprobe-mode accesses whose arguments could not be
	// kept until the hook returned.
	PendingFull uint64
}

// ReadCounters sums the per-CPU counters.
func (p *Probe) ReadCounters() (Counters, error) {
	var c Counters
	for key, dst := range map[FileaccessCounter]*uint64{
		FileaccessCounterCOUNTER_RING_FULL:         &c.RingFull,
		FileaccessCounterCOUNTER_PATH_UNRESOLVED:   &c.PathUnresolved,
		FileaccessCounterCOUNTER_PENDING_FULL:      &c.PendingFull,
		FileaccessCounterCOUNTER_PROCESS_RING_FULL: &c.ProcessRingFull,
	} {
		var perCPU []uint64
		if err := p.coll.Maps["counters"].Lookup(uint32(key), &perCPU); err != nil {
			return c, fmt.Errorf("reading counter %d: %w", key, err)
		}
		for _, v := range perCPU {
			*dst += v
		}
	}
	return c, nil
}

// Detach detaches the programs, so that no new records arrive; the ring
// buffer and the counters stay readable until Close.
func (p *Probe) Detach() error {
	var errs []error
	for _, l := range p.links {
		errs = append(errs, l.Close())
	}
	p.links = nil
	return errors.Join(errs...)
}

// Close detaches and unloads everything. It is safe to call more than once.
func (p *Probe) Close() error {
	errs := []error{p.Detach()}
	if p.coll != nil {
		p.coll.Close()
		p.coll = nil
	}
	return errors.Join(errs...)
}
