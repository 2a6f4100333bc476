package process

import (
	"fmt"
	"os"
	"strconv"
)

// Seed is the key of a process found by Scan and its parent's, for the caller
// to enter into the kernel's process map so that the kernel and the table key
// the process alike.
type Seed struct {
	PID          uint32
	ExecNs       uint64
	ParentExecNs uint64
	// ContainerInit is set for a process in a container's init tree: pid 1
	// of a pid namespace below the host's, or a descendant of one.
	ContainerInit bool
}

// Scan adds the processes running on the procfs mounted at procRoot, normally
// "/proc", as OriginProcfs entries under Key{pid, start time}. Only the
// thread-group leaders are read, the directories named by a number at
// procRoot. A process that vanishes while it is read is skipped. A pid the
// table knows already from an exec at or after the scanned start time is
// left as it is. Once all are read, each new entry's ParentKey is its parent's
// key as scanned, or as the table knows it.
//
// Scan returns a Seed for every process it read, keyed as the table now keys
// it, and an error only if procRoot itself cannot be read.
//
// Known limitation: CgroupID is left 0, since procfs names the cgroup by path
// and its id is the inode of that path in the cgroup filesystem.
func (t *Table) Scan(procRoot string) ([]Seed, error) {
	dirents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", procRoot, err)
	}
	t.expire()

	// keys maps every pid read to the ExecNs the table keys it by.
	keys := make(map[uint32]uint64, len(dirents))
	// pids pairs every pid read with its parent's.
	var pids [][2]uint32
	// nsInits holds the pids that are their pid namespace's init.
	nsInits := make(map[uint32]bool)
	var added []*entry
	for _, d := range dirents {
		pid, err := strconv.ParseUint(d.Name(), 10, 32)
		if err != nil || !d.IsDir() {
			continue
		}
		info, err := readProcess(procRoot, uint32(pid))
		if err != nil {
			continue
		}
		pids = append(pids, [2]uint32{info.Key.PID, info.PPID})
		if info.NsPID == 1 && info.Key.PID != 1 {
			nsInits[info.Key.PID] = true
		}
		if known := t.latest[info.Key.PID]; known != nil && known.info.Key.ExecNs >= info.StartNs {
			keys[info.Key.PID] = known.info.Key.ExecNs
			continue
		}
		keys[info.Key.PID] = info.Key.ExecNs
		info.ExecID = ExecID(t.hostName, info.Key)
		added = append(added, t.insert(info))
	}

	for _, e := range added {
		e.info.ParentKey = t.scannedParent(keys, e.info.PPID)
		if e.info.ParentKey.ExecNs != 0 {
			e.info.ParentExecID = ExecID(t.hostName, e.info.ParentKey)
		}
	}
	parents := make(map[uint32]uint32, len(pids))
	for _, p := range pids {
		parents[p[0]] = p[1]
	}
	seeds := make([]Seed, len(pids))
	for i, p := range pids {
		seeds[i] = Seed{
			PID:           p[0],
			ExecNs:        keys[p[0]],
			ParentExecNs:  t.scannedParent(keys, p[1]).ExecNs,
			ContainerInit: inInitTree(p[0], parents, nsInits),
		}
	}
	return seeds, nil
}

// inInitTree says whether pid or one of its ancestors is a pid namespace's
// init. The walk ends at the host's init, at a pid the scan did not read, and
// after as many steps as there are pids, so a parent loop (pid reuse between
// reads) cannot hold it.
//
// Known limitation: a process entered into a namespace from outside whose
// parent has exited has been re-parented to the namespace's init, so it is
// taken for part of the init tree; the kernel, which saw the fork, knows
// better for processes started after the receiver.
func inInitTree(pid uint32, parents map[uint32]uint32, nsInits map[uint32]bool) bool {
	for range len(parents) + 1 {
		if nsInits[pid] {
			return true
		}
		ppid, ok := parents[pid]
		if !ok || ppid == 0 || ppid == pid {
			return false
		}
		pid = ppid
	}
	return false
}

// scannedParent returns the key of the parent pid ppid: as scanned, or as the
// table knows it if the scan did not read it; ExecNs is 0 if neither knows.
func (t *Table) scannedParent(keys map[uint32]uint64, ppid uint32) Key {
	if execNs, ok := keys[ppid]; ok {
		return Key{PID: ppid, ExecNs: execNs}
	}
	if e := t.latest[ppid]; e != nil {
		return e.info.Key
	}
	return Key{PID: ppid}
}
