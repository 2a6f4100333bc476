package container

import "time"

// maxCacheEntries bounds the cache of cgroup ids. A node has some thousands of
// cgroups at most, a few for each container, so this holds every live one;
// the bound is there for the ids of deleted cgroups, which are never reused
// and would otherwise accumulate. When the cache is full it is emptied and
// filled again by the lookups and walks that follow, which costs one walk
// and some reads of /proc rather than the bookkeeping of an LRU.
//
// Known limitation: on a host with more cgroups than this, a walk empties the
// cache on its way and keeps only the cgroups it saw last, so lookups of the
// others cost a read of /proc, or wait for a later walk, again.
const maxCacheEntries = 16384

// negativeTTL is how long an id that could not be resolved is remembered as
// unknown. A record may name a cgroup created just before it, whose process
// was gone before it could be read, and which the next walk will see; one
// second keeps a burst of such records from each costing a lookup while
// still finding the cgroup soon.
const negativeTTL = time.Second

// entry is what the cache knows of a cgroup id.
type entry struct {
	// known says the id's cgroup was found; path and container are then
	// set, and the entry does not expire, since a cgroup id is never reused.
	known     bool
	path      string
	container ID
	inside    bool

	// expires is when an unknown entry is to be looked up again.
	expires time.Time
}

// cache maps cgroup ids to entries, emptying itself when full.
type cache struct {
	entries map[uint64]entry
	limit   int
	resets  uint64
}

func newCache(limit int) *cache {
	return &cache{entries: make(map[uint64]entry), limit: limit}
}

// get returns the entry of id, unless there is none or it is an unknown one
// that expired by now.
func (c *cache) get(id uint64, now time.Time) (entry, bool) {
	e, ok := c.entries[id]
	if !ok || (!e.known && !now.Before(e.expires)) {
		return entry{}, false
	}
	return e, true
}

// put stores the entry of id, first emptying the cache when it is full.
func (c *cache) put(id uint64, e entry) {
	if _, replacing := c.entries[id]; !replacing && len(c.entries) >= c.limit {
		clear(c.entries)
		c.resets++
	}
	c.entries[id] = e
}

// knownEntry is the entry of a cgroup found at path, relative to the cgroup2
// root.
func knownEntry(path string) entry {
	id, inside := FromCgroupPath(path)
	return entry{known: true, path: path, container: id, inside: inside}
}
