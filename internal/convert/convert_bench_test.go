package convert

import (
	"testing"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/process"
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

// BenchmarkAppendRecord converts a decoded access with its full process
// context, starting new logs every benchBatch records as the receiver does
// on each flush; one op is one record.
func BenchmarkAppendRecord(b *testing.B) {
	cat, shell := benchProcesses()
	pc := ProcessContext{Process: cat, Parent: shell, IncludeCommandArgs: true}
	r := catReads
	r.ExecNs = cat.Key.ExecNs
	clock := ClockAt(bootEpoch)
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
