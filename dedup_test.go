package fileaccessreceiver

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDedupCountsEveryAccess: with a dedup window, a tight loop of reads on a
// file makes one record a window, and the records' counts add up to every
// read made; another file read in the same windows has records of its own.
func TestDedupCountsEveryAccess(t *testing.T) {
	dir := t.TempDir()
	file, other := filepath.Join(dir, "f"), filepath.Join(dir, "g")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(other, []byte("y"), 0o644))
	r := startReceiverWith(t, func(c *Config) {
		c.IncludePaths = []string{dir}
		c.Dedup.Window = 500 * time.Millisecond
	}, nil, nil)

	const reads = 3000
	pid := runWorkloadChild(t, "reads", file, "3000")
	otherPid := runWorkloadChild(t, "reads", other, "10")

	var records int
	var total int64
	require.Eventually(t, func() bool {
		records, total = 0, 0
		for _, a := range fileAccesses(r.sink) {
			if a.pid == int64(pid) && a.event == "file_access.read" {
				records++
				n, ok := a.attrs["file_access.count"].(int64)
				require.True(t, ok, "a deduplicated record without file_access.count: %v", a.attrs)
				total += n
			}
		}
		return total >= reads
	}, 10*time.Second, 20*time.Millisecond, "the counts do not add up to the reads")
	settle()
	t.Logf("%d reads in %d records", reads, records)
	assert.Equal(t, int64(reads), total, "counts over all records")
	assert.LessOrEqual(t, records, 4, "one record a window, not one a read")

	var otherTotal int64
	assert.Eventually(t, func() bool {
		otherTotal = 0
		for _, a := range fileAccesses(r.sink) {
			if a.pid == int64(otherPid) && a.path == other {
				n, _ := a.attrs["file_access.count"].(int64)
				otherTotal += n
			}
		}
		return otherTotal >= 10
	}, 10*time.Second, 20*time.Millisecond, "the other file's reads are not counted apart")
	assert.Equal(t, int64(10), otherTotal)
}

// TestWithoutDedupNoCount: with dedup off, records carry no count.
func TestWithoutDedupNoCount(t *testing.T) {
	dir, file := watchedFile(t)
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })
	pid := runWorkloadChild(t, "reads", file, "3")
	a := waitFor(t, r.sink, "a read", func(a access) bool { return a.pid == int64(pid) })
	assert.NotContains(t, a.attrs, "file_access.count")
}
