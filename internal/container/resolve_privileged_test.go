package container

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"
)

// realContainerID is the id the privileged test gives its fake container.
const realContainerID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestResolverOnRealCgroup creates the cgroups kubelet's systemd driver and
// containerd would create for a besteffort pod's container, moves a child
// process into it, and resolves the cgroup id the kernel gives it.
func TestResolverOnRealCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups and moving a process into one needs root")
	}
	root, err := FindCgroup2Mount("/proc/self/mountinfo")
	if errors.Is(err, ErrNoCgroup2) {
		t.Skip("the host has no cgroup2 mount, so it has no cgroup v2 ids")
	}
	require.NoError(t, err)

	// A fresh pod uid each run, in the underscored form systemd slice names
	// take, so a run never meets a previous run's cgroups.
	uid := fmt.Sprintf("%08x_0000_4000_8000_%012x", os.Getpid(), time.Now().UnixNano()&0xffffffffffff)
	dirs := []string{
		"kubepods.slice",
		"kubepods-besteffort.slice",
		"kubepods-besteffort-pod" + uid + ".slice",
		"cri-containerd-" + realContainerID + ".scope",
	}
	leaf := makeCgroups(t, root, dirs)

	child := exec.Command("sleep", "5")
	require.NoError(t, child.Start())
	t.Cleanup(func() {
		_ = child.Process.Kill()
		_ = child.Wait()
	})
	pid := strconv.Itoa(child.Process.Pid)
	require.NoError(t, os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(pid), 0o644))

	cgroupID, err := inode(leaf)
	require.NoError(t, err)
	want := ID{ID: realContainerID, Runtime: RuntimeContainerd}

	r := NewResolver(root, "/proc", zaptest.NewLogger(t))
	got, ok := r.Container(cgroupID, uint32(child.Process.Pid))
	require.True(t, ok)
	assert.Equal(t, want, got)
	assert.EqualValues(t, 0, r.Walks(), "the child's /proc/PID/cgroup names the cgroup")

	path, ok := r.Path(cgroupID, uint32(child.Process.Pid))
	require.True(t, ok)
	assert.Equal(t, "/"+strings.Join(dirs, "/"), path)

	// Without a pid, only the walk of the real tree can find it.
	walked := NewResolver(root, "/proc", zaptest.NewLogger(t))
	got, ok = walked.Container(cgroupID, 0)
	require.True(t, ok)
	assert.Equal(t, want, got)
	assert.EqualValues(t, 1, walked.Walks())
}

// makeCgroups creates the nested cgroups dirs under root, to be removed
// bottom-up when the test ends, and returns the innermost. An outer cgroup
// that already exists, as kubepods.slice on a real node, is left alone.
func makeCgroups(t *testing.T, root string, dirs []string) string {
	t.Helper()
	path := root
	for _, d := range dirs {
		path = filepath.Join(path, d)
		err := os.Mkdir(path, 0o755)
		if errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			t.Skipf("the cgroup2 mount %s is not writable here: %v", root, err)
		}
		if errors.Is(err, os.ErrExist) {
			continue
		}
		require.NoError(t, err)
		created := path
		t.Cleanup(func() { removeCgroup(t, created) })
	}
	return path
}

// rmdirRetry bounds how long removing a cgroup waits for the kernel to let go
// of the killed child: the cgroup stays busy until the exit is fully
// processed, which may lag the child's reaping briefly.
const rmdirRetry = 2 * time.Second

func removeCgroup(t *testing.T, path string) {
	deadline := time.Now().Add(rmdirRetry)
	for {
		err := unix.Rmdir(path)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			t.Errorf("removing cgroup %s: %v", path, err)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
