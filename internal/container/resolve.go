package container

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Resolver maps the cgroup v2 id of a task, as bpf_get_current_cgroup_id
// reports it, to its cgroup's path and container. It relies on the id being
// the inode number of the cgroup's directory in the cgroup2 file system.
//
// Known limitation: on a 32-bit kernel the inode number holds only the low 32
// bits of the id, so no lookup confirms and no walk finds a cgroup.
//
// Results are cached by id, so the common case costs no system call. A miss
// reads /proc/PID/cgroup of the task and confirms the path found there with
// one stat; when that fails, because the task exited or moved, the whole
// cgroup2 tree is walked, at most once every minWalkInterval, and every
// cgroup seen is cached.
//
// Known limitation: on a hybrid host whose runtime places containers in the
// cgroup v1 hierarchies only, the cgroup v2 path of a container's task names
// no container, so Container reports none; FromProcCgroup of the task's
// /proc/PID/cgroup would find it, at the cost of a read for every record.
//
// A Resolver is not safe for concurrent use: the receiver calls it from the
// one goroutine that enriches records.
type Resolver struct {
	cgroupRoot string
	procRoot   string
	logger     *zap.Logger
	now        func() time.Time

	cache    *cache
	lastWalk time.Time
	walks    uint64
	misses   uint64
}

// NewResolver returns a Resolver for the cgroup2 file system mounted at
// cgroupRoot, as FindCgroup2Mount finds it, and the procfs mounted at
// procRoot. An empty cgroupRoot says the host has no cgroup2 mount.
//
// Known limitation: without a cgroup2 mount the cgroup id cannot be looked up
// in a tree, and caching by pid is unsafe since pids are reused, so every call
// of Container then reads /proc/PID/cgroup, and one of a task that has exited
// finds nothing.
func NewResolver(cgroupRoot, procRoot string, logger *zap.Logger) *Resolver {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Resolver{
		cgroupRoot: cgroupRoot,
		procRoot:   procRoot,
		logger:     logger,
		now:        time.Now,
		cache:      newCache(maxCacheEntries),
	}
}

// Container returns the container of the task with pid pid whose cgroup v2 id
// is cgroupID, and false when the task is in no container or its cgroup
// could not be found. The pid only helps find the cgroup; a pid of 0, as for
// a record without one, leaves the walk of the tree.
func (r *Resolver) Container(cgroupID uint64, pid uint32) (ID, bool) {
	if r.cgroupRoot == "" {
		return r.containerV1(pid)
	}
	e := r.lookup(cgroupID, pid)
	return e.container, e.inside
}

// Path returns the path, relative to the cgroup2 root, of the cgroup whose id
// is cgroupID, found as Container finds it, and false when it could not be
// found or the host has no cgroup2 mount.
func (r *Resolver) Path(cgroupID uint64, pid uint32) (string, bool) {
	if r.cgroupRoot == "" {
		return "", false
	}
	e := r.lookup(cgroupID, pid)
	return e.path, e.known
}

// Walks returns how many times the cgroup2 tree was walked.
func (r *Resolver) Walks() uint64 { return r.walks }

// Misses returns how many lookups the cache did not answer, including every
// lookup on a host without a cgroup2 mount.
func (r *Resolver) Misses() uint64 { return r.misses }

// CacheResets returns how many times the cache was emptied for being full.
func (r *Resolver) CacheResets() uint64 { return r.cache.resets }

// lookup returns the entry of cgroupID from the cache, or else resolves it
// and caches the result.
func (r *Resolver) lookup(cgroupID uint64, pid uint32) entry {
	// Found cgroups never expire: the common case reads no clock.
	if e, ok := r.cache.entries[cgroupID]; ok && e.known {
		return e
	}
	now := r.now()
	if e, ok := r.cache.get(cgroupID, now); ok {
		return e
	}
	r.misses++

	if path, ok := r.procPath(cgroupID, pid); ok {
		e := knownEntry(path)
		r.cache.put(cgroupID, e)
		return e
	}

	// The walk's entries are cached by the walk itself. When a walk is not
	// due yet, the id is retried as soon as one is, not a whole negativeTTL
	// later, since that walk may well find it.
	unknown := entry{expires: r.lastWalk.Add(minWalkInterval)}
	if r.lastWalk.IsZero() || now.Sub(r.lastWalk) >= minWalkInterval {
		if e, ok := r.walk(cgroupID); ok {
			return e
		}
		unknown.expires = now.Add(negativeTTL)
	}
	r.cache.put(cgroupID, unknown)
	return unknown
}

// procPath returns the cgroup v2 path of the task pid, if that is the cgroup
// whose id is cgroupID: the task may have moved since the record, or exited
// and its pid been reused.
func (r *Resolver) procPath(cgroupID uint64, pid uint32) (string, bool) {
	if pid == 0 {
		return "", false
	}
	data, err := os.ReadFile(r.procCgroupFile(pid))
	if err != nil {
		return "", false
	}
	path, ok := unifiedPath(data)
	if !ok {
		return "", false
	}
	if strings.HasPrefix(path, "/..") {
		// The receiver runs in a cgroup namespace of its own (a pod without
		// privileges always does), so the path is relative to that namespace
		// and cannot be checked against the hierarchy. The container it names
		// is taken as it is: a container's processes do not change cgroups.
		_, named := FromCgroupPath(path)
		return path, named
	}
	ino, err := inode(filepath.Join(r.cgroupRoot, path))
	if err != nil || ino != cgroupID {
		return "", false
	}
	return path, true
}

// containerV1 finds the container of pid from its /proc/PID/cgroup alone, for
// a host without a cgroup2 mount.
func (r *Resolver) containerV1(pid uint32) (ID, bool) {
	r.misses++
	data, err := os.ReadFile(r.procCgroupFile(pid))
	if err != nil {
		return ID{}, false
	}
	return FromProcCgroup(data)
}

func (r *Resolver) procCgroupFile(pid uint32) string {
	return filepath.Join(r.procRoot, strconv.FormatUint(uint64(pid), 10), "cgroup")
}

// inode returns the inode number of the file at path.
func inode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
