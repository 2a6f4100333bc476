package container

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrNoCgroup2 says that no cgroup2 file system is mounted: the host uses
// cgroup v1 only.
var ErrNoCgroup2 = errors.New("no cgroup2 file system mounted")

// Field positions in a mountinfo line, as proc_pid_mountinfo(5) lists them:
// the mount's root within its file system and its mount point, then optional
// fields up to a "-" separator, after which comes the file system type.
const (
	mountinfoRootField  = 3
	mountinfoPointField = 4
	mountinfoMinFields  = 10
)

// FindCgroup2Mount returns the mount point of the cgroup2 file system listed
// in the mountinfo file at mountinfoPath, such as /proc/self/mountinfo. A
// mount of the file system's root is preferred over a bind mount of a
// subtree, since /proc/PID/cgroup paths are relative to the root. It returns
// an error wrapping ErrNoCgroup2 when no cgroup2 file system is mounted.
func FindCgroup2Mount(mountinfoPath string) (string, error) {
	f, err := os.Open(mountinfoPath)
	if err != nil {
		return "", fmt.Errorf("reading mountinfo: %w", err)
	}
	defer f.Close()

	var subtree string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < mountinfoMinFields || fsType(fields) != "cgroup2" {
			continue
		}
		point := unescapeMountinfo(fields[mountinfoPointField])
		if fields[mountinfoRootField] == "/" {
			return point, nil
		}
		if subtree == "" {
			subtree = point
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading mountinfo: %w", err)
	}
	if subtree != "" {
		return subtree, nil
	}
	return "", fmt.Errorf("finding cgroup2 mount in %s: %w", mountinfoPath, ErrNoCgroup2)
}

// fsType returns the file system type of a mountinfo line: the field after
// the "-" separator.
func fsType(fields []string) string {
	for i := mountinfoPointField + 1; i < len(fields)-1; i++ {
		if fields[i] == "-" {
			return fields[i+1]
		}
	}
	return ""
}

// unescapeMountinfo undoes the octal escapes ("\040" for a space) the kernel
// writes for white space and backslashes in mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
