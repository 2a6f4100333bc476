package container

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

const (
	podCgroup = "/kubepods.slice/kubepods-besteffort.slice/" +
		"kubepods-besteffort-pod5f8c1b2e_9a7d_4c3e_8b1f_2d6e0a9c4b71.slice"
	containerdID     = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
	containerdCgroup = podCgroup + "/cri-containerd-" + containerdID + ".scope"
	dockerID         = "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"
	dockerCgroup     = "/system.slice/docker-" + dockerID + ".scope"
	sessionCgroup    = "/user.slice/user-1000.slice/session-3.scope"
)

// fakeHost is a cgroup2 tree and a procfs in a temporary directory, with a
// clock the test moves.
type fakeHost struct {
	t          *testing.T
	cgroupRoot string
	procRoot   string
	clock      time.Time
}

func newFakeHost(t *testing.T) *fakeHost {
	dir := t.TempDir()
	h := &fakeHost{
		t:          t,
		cgroupRoot: filepath.Join(dir, "cgroup"),
		procRoot:   filepath.Join(dir, "proc"),
		clock:      time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, p := range []string{containerdCgroup, dockerCgroup, sessionCgroup} {
		h.mkCgroup(p)
	}
	return h
}

func (h *fakeHost) resolver() *Resolver {
	r := NewResolver(h.cgroupRoot, h.procRoot, zap.NewNop())
	r.now = func() time.Time { return h.clock }
	return r
}

// mkCgroup creates the cgroup at path and returns its id.
func (h *fakeHost) mkCgroup(path string) uint64 {
	full := filepath.Join(h.cgroupRoot, path)
	require.NoError(h.t, os.MkdirAll(full, 0o755))
	return h.id(path)
}

func (h *fakeHost) id(path string) uint64 {
	ino, err := inode(filepath.Join(h.cgroupRoot, path))
	require.NoError(h.t, err)
	return ino
}

// setProc writes the /proc/PID/cgroup of pid.
func (h *fakeHost) setProc(pid uint32, content string) {
	dir := filepath.Join(h.procRoot, strconv.FormatUint(uint64(pid), 10))
	require.NoError(h.t, os.MkdirAll(dir, 0o755))
	require.NoError(h.t, os.WriteFile(filepath.Join(dir, "cgroup"), []byte(content), 0o644))
}

func (h *fakeHost) advance(d time.Duration) { h.clock = h.clock.Add(d) }

func TestResolverFindsContainerFromProcWithoutWalking(t *testing.T) {
	h := newFakeHost(t)
	h.setProc(100, "1:name=systemd:/\n0::"+containerdCgroup+"\n")
	r := h.resolver()

	got, ok := r.Container(h.id(containerdCgroup), 100)
	require.True(t, ok)
	assert.Equal(t, ID{containerdID, RuntimeContainerd}, got)
	assert.EqualValues(t, 0, r.Walks(), "a confirmed /proc path needs no walk")
	assert.EqualValues(t, 1, r.Misses())

	path, ok := r.Path(h.id(containerdCgroup), 100)
	require.True(t, ok)
	assert.Equal(t, containerdCgroup, path)
	assert.EqualValues(t, 1, r.Misses(), "the second lookup is answered by the cache")
}

func TestResolverCachedResultOutlivesTheProcess(t *testing.T) {
	h := newFakeHost(t)
	h.setProc(100, "0::"+dockerCgroup+"\n")
	r := h.resolver()
	id := h.id(dockerCgroup)

	_, ok := r.Container(id, 100)
	require.True(t, ok)
	require.NoError(t, os.RemoveAll(filepath.Join(h.procRoot, "100")))
	h.advance(time.Hour)

	got, ok := r.Container(id, 100)
	require.True(t, ok)
	assert.Equal(t, ID{dockerID, RuntimeDocker}, got)
	assert.EqualValues(t, 1, r.Misses())
	assert.EqualValues(t, 0, r.Walks())
}

func TestResolverWalksWhenProcDoesNotConfirm(t *testing.T) {
	tests := []struct {
		name string
		pid  uint32
		proc string // content of /proc/PID/cgroup; empty for an exited task
	}{
		{name: "task exited", pid: 200},
		{name: "task moved to another cgroup", pid: 200, proc: "0::" + sessionCgroup + "\n"},
		{name: "task in a cgroup since removed", pid: 200, proc: "0::/gone (deleted)\n"},
		{name: "v1-only proc file", pid: 200, proc: "1:name=systemd:" + containerdCgroup + "\n"},
		{name: "no pid", pid: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			if tt.proc != "" {
				h.setProc(tt.pid, tt.proc)
			}
			r := h.resolver()

			got, ok := r.Container(h.id(containerdCgroup), tt.pid)
			require.True(t, ok)
			assert.Equal(t, ID{containerdID, RuntimeContainerd}, got)
			assert.EqualValues(t, 1, r.Walks())
		})
	}
}

func TestResolverWalkFillsCacheForEveryCgroup(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver()

	_, ok := r.Container(h.id(containerdCgroup), 0)
	require.True(t, ok)
	require.EqualValues(t, 1, r.Walks())
	misses := r.Misses()

	got, ok := r.Container(h.id(dockerCgroup), 0)
	require.True(t, ok)
	assert.Equal(t, ID{dockerID, RuntimeDocker}, got)
	_, ok = r.Container(h.id(sessionCgroup), 0)
	assert.False(t, ok, "a session is no container")
	path, ok := r.Path(h.id(sessionCgroup), 0)
	assert.True(t, ok, "but its path is known")
	assert.Equal(t, sessionCgroup, path)
	path, ok = r.Path(h.id("/"), 0)
	assert.True(t, ok)
	assert.Equal(t, "/", path)

	assert.EqualValues(t, 1, r.Walks())
	assert.Equal(t, misses, r.Misses(), "every cgroup came from the one walk")
}

func TestResolverRateLimitsWalks(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver()

	_, ok := r.Container(1, 0)
	assert.False(t, ok)
	_, ok = r.Container(2, 0)
	assert.False(t, ok)
	assert.EqualValues(t, 1, r.Walks(), "a second unknown id right after a walk waits")

	h.advance(minWalkInterval)
	_, ok = r.Container(2, 0)
	assert.False(t, ok)
	assert.EqualValues(t, 2, r.Walks(), "an id that had to wait is retried once a walk is due")
}

func TestResolverFindsCgroupCreatedAfterAWalk(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver()

	_, ok := r.Container(12345, 0)
	require.False(t, ok)
	require.EqualValues(t, 1, r.Walks())

	// A cgroup appears just after the walk, and its task is gone before
	// its first record is resolved.
	lateID := h.mkCgroup(filepath.Join(podCgroup, "cri-containerd-"+dockerID+".scope"))
	_, ok = r.Container(lateID, 0)
	assert.False(t, ok, "no walk is due yet")
	assert.EqualValues(t, 1, r.Walks())

	h.advance(minWalkInterval)
	got, ok := r.Container(lateID, 0)
	require.True(t, ok, "the next due walk finds it")
	assert.Equal(t, ID{dockerID, RuntimeContainerd}, got)
	assert.EqualValues(t, 2, r.Walks())
}

func TestResolverNegativeResultOfAWalkLastsNegativeTTL(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver()

	_, ok := r.Container(12345, 0)
	require.False(t, ok)
	require.EqualValues(t, 1, r.Walks())

	h.advance(negativeTTL - time.Millisecond)
	_, ok = r.Container(12345, 0)
	assert.False(t, ok)
	assert.EqualValues(t, 1, r.Walks(), "no walk while the negative entry holds")

	h.advance(time.Millisecond)
	_, ok = r.Container(12345, 0)
	assert.False(t, ok)
	assert.EqualValues(t, 2, r.Walks())
}

func TestResolverEmptiesFullCache(t *testing.T) {
	h := newFakeHost(t)
	h.setProc(100, "0::"+containerdCgroup+"\n")
	h.setProc(101, "0::"+dockerCgroup+"\n")
	h.setProc(102, "0::"+sessionCgroup+"\n")
	r := h.resolver()
	r.cache = newCache(2)

	r.Container(h.id(containerdCgroup), 100)
	r.Container(h.id(dockerCgroup), 101)
	assert.EqualValues(t, 0, r.CacheResets())
	r.Container(h.id(sessionCgroup), 102)
	assert.EqualValues(t, 1, r.CacheResets())
	assert.Len(t, r.cache.entries, 1, "only the entry stored after the reset is left")

	// Emptied, the cache answers again from /proc.
	got, ok := r.Container(h.id(containerdCgroup), 100)
	require.True(t, ok)
	assert.Equal(t, ID{containerdID, RuntimeContainerd}, got)
	assert.EqualValues(t, 4, r.Misses())
}

func TestResolverWalkLargerThanCacheStillFindsTheID(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver()
	r.cache = newCache(2)

	// The tree has more cgroups than the cache holds, so the walk empties
	// it on the way.
	got, ok := r.Container(h.id(containerdCgroup), 0)
	require.True(t, ok)
	assert.Equal(t, ID{containerdID, RuntimeContainerd}, got)
	assert.Positive(t, r.CacheResets())
	assert.LessOrEqual(t, len(r.cache.entries), 2)
}

func TestResolverWithoutCgroup2ReadsProcEveryTime(t *testing.T) {
	h := newFakeHost(t)
	h.setProc(300, "4:memory:/docker/"+dockerID+"\n1:name=systemd:/docker/"+dockerID+"\n")
	r := NewResolver("", h.procRoot, nil)

	got, ok := r.Container(999, 300)
	require.True(t, ok, "the id means nothing without cgroup2; the pid finds it")
	assert.Equal(t, ID{dockerID, RuntimeDocker}, got)

	// The pid now belongs to a host process: no stale cache answers.
	h.setProc(300, "4:memory:/\n1:name=systemd:/user.slice\n")
	_, ok = r.Container(999, 300)
	assert.False(t, ok)
	assert.EqualValues(t, 2, r.Misses())
	assert.EqualValues(t, 0, r.Walks())

	_, ok = r.Path(999, 300)
	assert.False(t, ok, "no cgroup2 path without cgroup2")
}

func TestResolverWithMissingCgroupRoot(t *testing.T) {
	h := newFakeHost(t)
	r := NewResolver(filepath.Join(t.TempDir(), "absent"), h.procRoot, nil)
	r.now = func() time.Time { return h.clock }

	_, ok := r.Container(1, 0)
	assert.False(t, ok)
	assert.EqualValues(t, 1, r.Walks())
}

func TestResolverTakesTheContainerOfANamespacedProcPath(t *testing.T) {
	h := newFakeHost(t)
	// Read from a cgroup namespace of its own, as in an unprivileged pod,
	// the path climbs out of that namespace and cannot be checked by inode.
	h.setProc(100, "0::/../../kubepods-besteffort.slice/cri-containerd-"+containerdID+".scope\n")
	h.setProc(101, "0::/../../system.slice/sshd.service\n")
	r := h.resolver()

	got, ok := r.Container(h.id(containerdCgroup), 100)
	require.True(t, ok)
	assert.Equal(t, ID{containerdID, RuntimeContainerd}, got)
	assert.EqualValues(t, 0, r.Walks(), "the container id came from /proc")

	_, ok = r.Container(h.id(sessionCgroup), 101)
	assert.False(t, ok, "a namespaced path naming no container")
}
