package fileaccessreceiver

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContainerInitTreeCanBeLeftOut: with exclude_container_init, the init of
// a pid namespace and what it forks give no records, while a process entered
// into the namespace from outside (nsenter, as kubectl exec does) still does.
func TestContainerInitTreeCanBeLeftOut(t *testing.T) {
	for _, tool := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "no %s: %v", tool, err)
		}
	}
	dir, file := watchedFile(t)
	r := startReceiver(t, func(c *Config) {
		c.IncludePaths = []string{dir}
		c.ExcludeContainerInit = true
		c.ProcessEvents = string(processEventsAll)
	})

	// The namespace's init reads the file itself and through a child, says
	// so in an unwatched file, and waits to be entered.
	ready := filepath.Join(t.TempDir(), "ready")
	script := "read line < " + file + "; cat " + file + " > /dev/null; echo done > " + ready + "; sleep 30"
	unshare := exec.Command("unshare", "-pf", "sh", "-c", script)
	require.NoError(t, unshare.Start())
	t.Cleanup(func() {
		_ = unshare.Process.Kill()
		_ = unshare.Wait()
	})
	nsInit := childOf(t, unshare.Process.Pid)
	t.Cleanup(func() {
		if p, err := os.FindProcess(nsInit); err == nil {
			_ = p.Kill()
		}
	})
	require.Eventually(t, func() bool {
		_, err := os.Stat(ready)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the namespace's init did not finish its reads")

	run(t, "nsenter", "-t", strconv.Itoa(nsInit), "-p", "cat", file)
	entered := waitFor(t, r.sink, "the entered cat's read", func(a access) bool {
		return a.event == "file_access.read" && a.path == file && a.attrs["process.parent_pid"] != int64(nsInit)
	})
	assert.NotEqual(t, int64(1), entered.attrs["process.vpid"])

	settle()
	for _, a := range accesses(r.sink) {
		assert.NotEqual(t, int64(nsInit), a.pid, "a record of the namespace's init: %s", a.body)
		assert.NotEqual(t, int64(nsInit), a.attrs["process.parent_pid"], "a record of the init's child: %s", a.body)
	}
}

// childOf returns the pid of the first child of parent, waiting for it to appear.
func childOf(t *testing.T, parent int) int {
	t.Helper()
	var child int
	require.Eventually(t, func() bool {
		child = findChild(parent)
		return child != 0
	}, 5*time.Second, 10*time.Millisecond, "process %d has no child", parent)
	return child
}

func findChild(parent int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if value, ok := strings.CutPrefix(line, "PPid:"); ok && strings.TrimSpace(value) == strconv.Itoa(parent) {
				return pid
			}
		}
	}
	return 0
}
