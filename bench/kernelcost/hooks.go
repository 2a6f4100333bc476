package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"go.uber.org/zap"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

// ringBufferSize is large so that the drain, not the ring, is what limits
// the watched case: 64 MiB.
const ringBufferSize = 64 << 20

// hookSet is one configuration under test: attached by attach, removed by
// the function attach returns.
type hookSet struct {
	name   string
	attach func() (detach func() (runStats, error), err error)
	// execAfterAttach has the pread child exec again once attached: the
	// receiver's programs know a process by its exec, and most processes
	// that touch a watched file start after the collector.
	execAfterAttach bool
}

// runStats is what a receiver configuration saw while attached.
type runStats struct {
	records  uint64
	ringFull uint64
}

// emptyProgram is a program that returns at once: the cost of the hook
// itself, with nothing the receiver does in it.
func emptyProgram(spec ebpf.ProgramSpec) (*ebpf.Program, error) {
	spec.Instructions = asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}
	spec.License = "GPL"
	prog, err := ebpf.NewProgram(&spec)
	if err != nil {
		return nil, fmt.Errorf("loading the empty %s program: %w", spec.Name, err)
	}
	return prog, nil
}

// emptyHook attaches one empty program with attachFn.
func emptyHook(name string, spec ebpf.ProgramSpec, attachFn func(*ebpf.Program) (link.Link, error)) hookSet {
	return hookSet{name: name, attach: func() (func() (runStats, error), error) {
		prog, err := emptyProgram(spec)
		if err != nil {
			return nil, err
		}
		l, err := attachFn(prog)
		if err != nil {
			prog.Close()
			return nil, fmt.Errorf("attaching the empty %s program: %w", name, err)
		}
		return func() (runStats, error) {
			return runStats{}, errors.Join(l.Close(), prog.Close())
		}, nil
	}}
}

func emptyRawSysExit() hookSet {
	return emptyHook("empty raw_tp sys_exit",
		ebpf.ProgramSpec{Name: "empty_raw", Type: ebpf.RawTracepoint},
		func(p *ebpf.Program) (link.Link, error) {
			return link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sys_exit", Program: p})
		})
}

func emptyBTFSysExit() hookSet {
	return emptyHook("empty tp_btf sys_exit",
		ebpf.ProgramSpec{Name: "empty_btf", Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "sys_exit"},
		func(p *ebpf.Program) (link.Link, error) {
			return link.AttachTracing(link.TracingOptions{Program: p})
		})
}

func emptyFexit() hookSet {
	return emptyHook("empty fexit security_file_permission",
		ebpf.ProgramSpec{Name: "empty_fexit", Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFExit, AttachTo: "security_file_permission"},
		func(p *ebpf.Program) (link.Link, error) {
			return link.AttachTracing(link.TracingOptions{Program: p})
		})
}

// emptyKprobePair is the kprobe mode's floor: an entry and a return probe,
// as the receiver attaches per hook.
func emptyKprobePair() hookSet {
	const target = "security_file_permission"
	return hookSet{name: "empty kprobe+kretprobe " + target, attach: func() (func() (runStats, error), error) {
		prog, err := emptyProgram(ebpf.ProgramSpec{Name: "empty_kprobe", Type: ebpf.Kprobe})
		if err != nil {
			return nil, err
		}
		entry, err := link.Kprobe(target, prog, nil)
		if err != nil {
			prog.Close()
			return nil, fmt.Errorf("attaching the empty kprobe: %w", err)
		}
		exit, err := link.Kretprobe(target, prog, nil)
		if err != nil {
			entry.Close()
			prog.Close()
			return nil, fmt.Errorf("attaching the empty kretprobe: %w", err)
		}
		return func() (runStats, error) {
			return runStats{}, errors.Join(exit.Close(), entry.Close(), prog.Close())
		}, nil
	}}
}

// drainInterval is how often the drain looks at the ring, as the receiver's
// flush interval does.
const drainInterval = 20 * time.Millisecond

// receiverHooks attaches the receiver's own programs and drains their ring
// buffer, discarding the records, so that every watched access is written.
func receiverHooks(opts probe.Options) hookSet {
	return hookSet{name: "receiver", execAfterAttach: true, attach: func() (func() (runStats, error), error) {
		p, err := probe.Open(opts)
		if err != nil {
			return nil, err
		}
		reader, err := p.NewReader()
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("opening the ring buffer: %w", err)
		}

		var records atomic.Uint64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rec ringbuf.Record
			for {
				// The programs wake the reader only when the ring fills up, as
				// the receiver's reader looks every flush interval on its own.
				reader.SetDeadline(time.Now().Add(drainInterval))
				if err := reader.ReadInto(&rec); err != nil {
					if errors.Is(err, ringbuf.ErrFlushed) || errors.Is(err, os.ErrDeadlineExceeded) {
						continue
					}
					return
				}
				// Exec and exit records of the whole machine share the ring.
				if kind, err := record.KindOf(rec.RawSample); err == nil && kind == record.KindFile {
					records.Add(1)
				}
			}
		}()

		return func() (runStats, error) {
			detachErr := p.Detach()
			// What the programs wrote before the detach is read before counting.
			waitQuiet(&records)
			stats := runStats{records: records.Load()}
			counters, err := p.ReadCounters()
			stats.ringFull = counters.RingFull
			err = errors.Join(detachErr, err, reader.Close())
			wg.Wait()
			return stats, errors.Join(err, p.Close())
		}, nil
	}}
}

// waitQuiet returns once the count has stopped growing for a while.
func waitQuiet(count *atomic.Uint64) {
	last := count.Load()
	for {
		time.Sleep(50 * time.Millisecond)
		now := count.Load()
		if now == last {
			return
		}
		last = now
	}
}

// floorsFor lists the empty programs at the hooks of the mode the receiver
// took: the cost it cannot go below.
func floorsFor(p *probe.Probe) []hookSet {
	switch p.Mode {
	case probe.ModeFentry:
		return []hookSet{emptyFexit()}
	case probe.ModeKprobe:
		return []hookSet{emptyKprobePair()}
	}
	floors := []hookSet{emptyRawSysExit()}
	if usesBTF(p) {
		floors = append(floors, emptyBTFSysExit())
	}
	return floors
}

// usesBTF says whether tracepoint mode took tp_btf rather than the raw tracepoint.
func usesBTF(p *probe.Probe) bool {
	for _, a := range p.Attached {
		if a == "btf_sys_exit" {
			return true
		}
	}
	return false
}

// probeOptions watch dir with every operation, ignoring the benchmark's own
// process, whose drain must not count.
func probeOptions(mode probe.Mode, dir string, ignorePID int) (probe.Options, error) {
	prefix, err := probe.NormalizePrefix(dir)
	if err != nil {
		return probe.Options{}, fmt.Errorf("watched directory: %w", err)
	}
	return probe.Options{
		Mode:           mode,
		IncludePaths:   []string{prefix},
		Ops:            []probe.FileaccessOp{probe.FileaccessOpOP_READ, probe.FileaccessOpOP_WRITE, probe.FileaccessOpOP_MMAP, probe.FileaccessOpOP_TRUNCATE},
		RingBufferSize: ringBufferSize,
		IgnorePID:      uint32(ignorePID),
		Logger:         zap.NewNop(),
	}, nil
}
