package fileaccessreceiver

import (
	"errors"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/container"
)

// maxSymlinks is how many symbolic links resolving one path follows, as the
// kernel's own lookup does (MAXSYMLINKS).
const maxSymlinks = 40

// resolveWrittenPath resolves a path a truncate(2) named, as the process pid
// saw it: "." and ".." and symbolic links, under the process's own root. The
// tracepoint mode sees only the path the system call was given, so this is
// done in user space, after the fact. Known limitation: once the process has
// exited its root is gone; a host process's path is then resolved under the
// host's root, a container process's only lexically, its symbolic links left
// as they are.
func resolveWrittenPath(pid uint32, written string, inContainer bool) string {
	if resolved, err := resolveUnder("/proc/"+strconv.FormatUint(uint64(pid), 10)+"/root", written); err == nil {
		return resolved
	}
	if !inContainer {
		// pid 1's root is the host's; where it cannot be reached, and the
		// collector runs on the host itself, its own root is.
		if resolved, err := resolveUnder("/proc/1/root", written); err == nil {
			return resolved
		}
		if !collectorInContainer() {
			if resolved, err := resolveUnder("/", written); err == nil {
				return resolved
			}
		}
	}
	return path.Clean(written)
}

// collectorInContainer reports whether this process runs in a container,
// as its own cgroup tells.
var collectorInContainer = sync.OnceValue(func() bool {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return true // unknown: do not take this root for the host's
	}
	_, inside := container.FromProcCgroup(data)
	return inside
})

// resolveUnder resolves an absolute path under root, a directory that stands
// for "/": symbolic links, absolute ones included, never lead out of it. A
// last component that does not exist is kept, since truncate(2) may have
// named a file removed since.
func resolveUnder(root, p string) (string, error) {
	// Stat, not Lstat: a process's root is a link in /proc that a zombie
	// still has but that leads nowhere.
	if _, err := os.Stat(root); err != nil {
		return "", err
	}
	resolved := "/"
	rest := strings.Split(p, "/")
	for links := 0; len(rest) > 0; {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, name)
		info, err := os.Lstat(root + next)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				// Not there (any more): the rest stays as written, cleaned.
				return path.Join(append([]string{next}, rest...)...), nil
			}
			return "", err
		}
		if info.Mode()&os.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", errors.New("too many levels of symbolic links")
		}
		target, err := os.Readlink(root + next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return resolved, nil
}
