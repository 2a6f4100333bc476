package fileaccessreceiver

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConvertersHandOnEveryRecordOnce: with several converters and batches of
// a few records, every read arrives once, no batch is larger than
// max_batch_size, and each process's exec record comes in the batch of its
// first read, before it.
func TestConvertersHandOnEveryRecordOnce(t *testing.T) {
	const (
		children = 4
		reads    = 500
		// Odd, so that an exec record and its read often meet a batch's end.
		batchSize = 7
	)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	r := startReceiverWith(t, func(c *Config) {
		c.IncludePaths = []string{dir}
		c.ProcessEvents = string(processEventsWatched)
		c.MaxBatchSize = batchSize
	}, nil, func(r *fileAccessReceiver) { r.converterCount = 3 })

	pids := make([]int, children)
	for i := range pids {
		pids[i] = runWorkloadChild(t, "reads", file, strconv.Itoa(reads))
	}
	last := readBy(pids[children-1])
	require.Eventually(t, func() bool {
		n := 0
		for _, a := range accesses(r.sink) {
			if last(a) {
				n++
			}
		}
		return n >= reads
	}, 10*time.Second, 20*time.Millisecond, "the last child's reads did not all arrive")
	settle()

	for _, logs := range r.sink.AllLogs() {
		assert.LessOrEqual(t, logs.LogRecordCount(), batchSize, "a batch larger than max_batch_size")
	}
	for _, pid := range pids {
		readsSeen, execs := 0, 0
		for i, logs := range r.sink.AllLogs() {
			var batch []access
			for _, rl := range logs.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						batch = append(batch, toAccess(lr))
					}
				}
			}
			for j, a := range batch {
				switch {
				case readBy(pid)(a):
					readsSeen++
				case a.event == "file_access.process.exec" && a.pid == int64(pid):
					execs++
					if assert.Less(t, j+1, len(batch), "batch %d ends with pid %d's exec record", i, pid) {
						assert.True(t, readBy(pid)(batch[j+1]), "pid %d's exec record is followed by %+v", pid, batch[j+1])
					}
					assert.Zero(t, readsSeen, "pid %d's exec record after %d of its reads", pid, readsSeen)
				}
			}
		}
		assert.Equal(t, reads, readsSeen, "reads of pid %d", pid)
		assert.Equal(t, 1, execs, "exec records of pid %d", pid)
	}
}

// TestHeldRecordsFollowWhatWasPendingBeforeThem: a read held for its dedup
// window is released into the reader's own batch, after its process's exec
// record was queued for a converter; the exec record must still come first.
func TestHeldRecordsFollowWhatWasPendingBeforeThem(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	r := startReceiverWith(t, func(c *Config) {
		c.IncludePaths = []string{dir}
		c.ProcessEvents = string(processEventsAll)
		c.Dedup.Window = minDedupWindow
		// Windows end well before the flush, which hands on both the
		// pending exec record and the released read.
		c.FlushInterval = 500 * time.Millisecond
	}, nil, func(r *fileAccessReceiver) { r.converterCount = 2 })

	for range 3 {
		pid := runWorkloadChild(t, "reads", file, "1")
		waitFor(t, r.sink, "the child's read", readBy(pid))
		exec, read := -1, -1
		for i, a := range accesses(r.sink) {
			switch {
			case a.pid != int64(pid):
			case a.event == "file_access.process.exec" && exec < 0:
				exec = i
			case readBy(pid)(a) && read < 0:
				read = i
			}
		}
		require.GreaterOrEqual(t, exec, 0, "no exec record of pid %d", pid)
		require.Less(t, exec, read, "pid %d's exec record came after its read", pid)
	}
}
