package container

import (
	"bufio"
	"bytes"
	"strings"
)

// unifiedHierarchy is the hierarchy id of the cgroup v2 line of
// /proc/PID/cgroup, which also has an empty controller list.
const unifiedHierarchy = "0"

// procCgroupLine is one line of /proc/PID/cgroup:
// "hierarchy-ID:controller-list:path".
type procCgroupLine struct {
	hierarchy   string
	controllers string
	path        string
}

// unified says whether the line is the cgroup v2 one.
func (l procCgroupLine) unified() bool {
	return l.hierarchy == unifiedHierarchy && l.controllers == ""
}

// FromProcCgroup returns the container named by the content of a
// /proc/PID/cgroup file, and false when no line names one.
//
// The cgroup v2 line ("0::path") is preferred, since it is the cgroup the
// kernel programs report; the cgroup v1 lines count when it names no
// container, as on a v1-only host, or on a hybrid host whose runtime placed
// the container in the v1 hierarchies only. Among v1 lines the first that
// names a container wins.
func FromProcCgroup(data []byte) (ID, bool) {
	var v1 ID
	v1ok := false
	for _, line := range parseProcCgroup(data) {
		id, ok := FromCgroupPath(line.path)
		if !ok {
			continue
		}
		if line.unified() {
			return id, true
		}
		if !v1ok {
			v1, v1ok = id, true
		}
	}
	return v1, v1ok
}

// unifiedPath returns the path of the cgroup v2 line of a /proc/PID/cgroup
// file, and false when there is none.
func unifiedPath(data []byte) (string, bool) {
	for _, line := range parseProcCgroup(data) {
		if line.unified() {
			return line.path, true
		}
	}
	return "", false
}

// parseProcCgroup splits a /proc/PID/cgroup file into its lines, skipping
// malformed ones. The path is the rest of the line, since it may hold a
// colon.
func parseProcCgroup(data []byte) []procCgroupLine {
	var lines []procCgroupLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), ":", 3)
		if len(fields) != 3 {
			continue
		}
		lines = append(lines, procCgroupLine{
			hierarchy:   fields[0],
			controllers: fields[1],
			path:        fields[2],
		})
	}
	return lines
}
