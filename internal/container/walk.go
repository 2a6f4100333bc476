package container

import (
	"io/fs"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// minWalkInterval spaces walks of the cgroup2 tree. A walk stats every cgroup
// directory, some thousands on a busy node; records of cgroups that cannot be
// found, such as those of processes gone before their first record was read,
// would otherwise each start one.
const minWalkInterval = 200 * time.Millisecond

// walk stats every directory of the cgroup2 tree and caches each as a known
// cgroup, and returns the entry of the cgroup whose id is want, if seen.
// The entry is returned as well as cached since, on a tree larger than the
// cache, the cache may be emptied after it was stored.
func (r *Resolver) walk(want uint64) (entry, bool) {
	r.walks++
	r.lastWalk = r.now()

	var found entry
	ok := false
	err := filepath.WalkDir(r.cgroupRoot, func(p string, d fs.DirEntry, err error) error {
		// A cgroup removed while the walk reads it is no error: it is
		// simply not there to find. The root failing is one.
		if err != nil && p == r.cgroupRoot {
			return err
		}
		if err != nil || !d.IsDir() {
			return nil
		}
		ino, statErr := inode(p)
		if statErr != nil {
			return nil
		}
		rel, relErr := filepath.Rel(r.cgroupRoot, p)
		if relErr != nil {
			return nil
		}
		e := knownEntry(filepath.Join("/", rel))
		r.cache.put(ino, e)
		if ino == want {
			found, ok = e, true
		}
		return nil
	})
	if err != nil {
		// Debug only: walks are rate-limited but may still come several
		// times a second, and the caller counts the unresolved ids.
		r.logger.Debug("walking cgroup2 tree failed",
			zap.String("cgroup_root", r.cgroupRoot), zap.Error(err))
	}
	return found, ok
}
