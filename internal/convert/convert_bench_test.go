package convert

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/process"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

// benchBatch is how many records the receiver hands on at most at once, its
// max_batch_size default.
const benchBatch = 1024

// benchProcesses returns cat and the shell that started it, as the process
// table holds them after their execs.
func benchProcesses() (cat, shell *process.Info) {
	table := process.NewTable("node-1", 16, 0)
	table.Exec(&process.Event{
		EventNs: 1_000_000_000, ExecNs: 1_000_000_000, StartNs: 900_000_000,
		PID: 1100, PPID: 1, NsPID: 1100, AUID: 1000,
		Executable: "/usr/bin/bash", Cwd: "/home/user", Args: []string{"bash"},
	})
	table.Exec(&process.Event{
		EventNs: 4_000_000_000, ExecNs: 4_000_000_000, ParentExecNs: 1_000_000_000,
		StartNs: 3_900_000_000, CgroupID: 4242,
		PID: 1200, PPID: 1100, NsPID: 1200, UID: 1000, EUID: 1000, GID: 1000, EGID: 1000,
		AUID:       1000,
		Executable: "/usr/bin/cat",
		Cwd:        "/home/user/src/project",
		Args:       []string{"cat", "-n", "--show-ends", "/etc/passwd", "/etc/group", "/etc/hosts"},
	})
	cat = table.Lookup(1200, 4_000_000_000)
	return cat, table.Parent(cat)
}

// benchAccess is cat's read with cat's process context, as the benchmarks convert it.
func benchAccess() (record.Record, ProcessContext, Clock) {
	cat, shell := benchProcesses()
	r := catReads
	r.ExecNs = cat.Key.ExecNs
	return r, ProcessContext{Process: cat, Parent: shell, IncludeCommandArgs: true}, ClockAt(bootEpoch)
}

// BenchmarkAppendRecord converts a decoded access with its full process
// context, starting new logs every benchBatch records as the receiver does
// on each flush; one op is one record.
func BenchmarkAppendRecord(b *testing.B) {
	r, pc, clock := benchAccess()
	_, records := NewLogs("node-1", "scope", "v")
	b.ReportAllocs()
	for b.Loop() {
		if records.Len() == benchBatch {
			_, records = NewLogs("node-1", "scope", "v")
		}
		AppendRecord(records, &r, pc, clock, observed)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPdataFloor builds the same log record as BenchmarkAppendRecord
// from values already at hand: the same body, timestamps and attributes,
// each value put with pdata's own setter. No conversion happens, so this is
// what pdata alone costs a record of this shape, the floor AppendRecord's
// time and allocations are read against in the same run.
func BenchmarkPdataFloor(b *testing.B) {
	r, pc, clock := benchAccess()
	_, template := NewLogs("node-1", "scope", "v")
	AppendRecord(template, &r, pc, clock, observed)
	want := template.At(0)

	type attribute struct {
		key   string
		value pcommon.Value
	}
	var attrs []attribute
	for k, v := range want.Attributes().All() {
		attrs = append(attrs, attribute{k, v})
	}
	body := want.Body().Str()

	_, records := NewLogs("node-1", "scope", "v")
	b.ReportAllocs()
	for b.Loop() {
		if records.Len() == benchBatch {
			_, records = NewLogs("node-1", "scope", "v")
		}
		lr := records.AppendEmpty()
		lr.SetEventName(want.EventName())
		lr.SetTimestamp(want.Timestamp())
		lr.SetObservedTimestamp(want.ObservedTimestamp())
		lr.SetSeverityNumber(want.SeverityNumber())
		lr.SetSeverityText(want.SeverityText())
		lr.Body().SetStr(body)
		m := lr.Attributes()
		m.EnsureCapacity(len(attrs))
		for _, a := range attrs {
			switch a.value.Type() {
			case pcommon.ValueTypeStr:
				m.PutStr(a.key, a.value.Str())
			case pcommon.ValueTypeInt:
				m.PutInt(a.key, a.value.Int())
			case pcommon.ValueTypeBool:
				m.PutBool(a.key, a.value.Bool())
			case pcommon.ValueTypeSlice:
				a.value.Slice().CopyTo(m.PutEmptySlice(a.key))
			default:
				b.Fatalf("attribute %s has type %s, which the floor does not build", a.key, a.value.Type())
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")

	got := records.At(records.Len() - 1)
	if !got.Attributes().Equal(want.Attributes()) || got.Body().Str() != body {
		b.Fatalf("the floor built a different record: %v, want %v", got.Attributes().AsRaw(), want.Attributes().AsRaw())
	}
}
