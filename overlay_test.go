package fileaccessreceiver

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// mountOverlay mounts an overlay of lower and upper directories under base and
// returns the merged directory; the file name is in the lower layer.
func mountOverlay(t *testing.T, base, name string) (merged, lower, upper string) {
	t.Helper()
	lower, upper = filepath.Join(base, "lower"), filepath.Join(base, "upper")
	work, merged := filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, dir := range []string{lower, upper, work, merged} {
		require.NoError(t, os.Mkdir(dir, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(lower, name), []byte("lower layer\n"), 0o644))

	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		skipOrFail(t, "cannot mount an overlay here: %v", err)
	}
	t.Cleanup(func() { assert.NoError(t, unix.Unmount(merged, unix.MNT_DETACH)) })
	return merged, lower, upper
}

// TestOverlayAccessIsOneRecord reads and writes a file through an overlay
// mount: each system call is one record with the merged path, and neither the
// lower nor the upper layer's file appears as a second one.
func TestOverlayAccessIsOneRecord(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	name := fmt.Sprintf("overlay-%d.txt", os.Getpid())
	merged, lower, upper := mountOverlay(t, base, name)
	file := filepath.Join(merged, name)

	// "/"+name would be the inner file's path if it were resolved against its
	// layer's private mount: watch it too, to catch that as well.
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{base, "/" + name} })
	readPid := runWorkloadChild(t, "reads", file, "3")
	writePid := runWorkloadChild(t, "io", file, "pwrite64") // copies the file up

	waitFor(t, r.sink, "the third read", func(a access) bool { return a.pid == int64(readPid) && countOf(r, readPid, "file_access.read") >= 3 })
	waitFor(t, r.sink, "the write", func(a access) bool { return a.pid == int64(writePid) && a.event == "file_access.write" })
	settle()

	assert.Equal(t, 3, countOf(r, readPid, "file_access.read"), "one record per pread")
	assert.Equal(t, 1, countOf(r, writePid, "file_access.write"), "one record per pwrite")
	for _, a := range fileAccesses(r.sink) {
		if a.pid != int64(readPid) && a.pid != int64(writePid) {
			continue
		}
		assert.Equal(t, file, a.path, "a layer's own path appeared: %+v", a)
		assert.NotContains(t, a.path, lower)
		assert.NotContains(t, a.path, upper)
	}
}

func countOf(r running, pid int, event string) int {
	n := 0
	for _, a := range accesses(r.sink) {
		if a.pid == int64(pid) && a.event == event {
			n++
		}
	}
	return n
}
