package fileaccessreceiver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
)

// workloadEnv makes the test binary run one workload instead of the tests, so
// the end-to-end tests have a child process doing exactly one kind of I/O.
const workloadEnv = "FILE_ACCESS_TEST_WORKLOAD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(workloadEnv); spec != "" {
		if err := runWorkload(strings.Fields(spec)); err != nil {
			fmt.Fprintln(os.Stderr, "workload:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runWorkload(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: KIND PATH [ARGS]: got %q", args)
	}
	kind, path := args[0], args[1]
	switch kind {
	case "mmap":
		// mmap PATH PROT: PROT is r, rw or rx.
		prot := "r"
		if len(args) > 2 {
			prot = args[2]
		}
		return mapFile(path, prot)
	case "uring":
		// uring PATH read|write [sqpoll]
		return uringIO(path, args[2] == "write", len(args) > 3 && args[3] == "sqpoll")
	case "aio":
		// aio PATH read|write
		return aioIO(path, args[2] == "write")
	case "truncate":
		return unix.Truncate(path, 0)
	case "ftruncate":
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Truncate(0)
	case "open-trunc":
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return err
		}
		return f.Close()
	case "anonymous-io":
		// Writes and reads a byte through a pipe, a socket pair and an
		// eventfd: files with no path.
		return anonymousIO()
	case "container-read":
		// container-read PATH CGROUP: joins the cgroup directory CGROUP, a
		// mount namespace of its own and the root PATH, as a container's
		// process would, then reads /etc/passwd.
		return readInContainer(path, args[2])
	case "chroot-read":
		// Reads PATH/etc/passwd from inside a chroot at PATH.
		if err := syscall.Chroot(path); err != nil {
			return err
		}
		_, err := os.ReadFile("/etc/passwd")
		return err
	case "deep-read":
		depth, _ := strconv.Atoi(args[2])
		nameLen, _ := strconv.Atoi(args[3])
		return readDeepFile(path, depth, nameLen)
	case "preflight":
		return probe.Preflight()
	case "reads":
		// reads PATH N: N one-byte preads, as fast as possible.
		n, _ := strconv.Atoi(args[2])
		return readMany(path, n)
	case "spawn":
		// spawn PATH N BINARY: runs BINARY PATH N times, one after another.
		n, _ := strconv.Atoi(args[2])
		for range n {
			if out, err := exec.Command(args[3], path).CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %v: %s", args[3], err, out)
			}
		}
		return nil
	case "pread-high-fd":
		// A descriptor with junk in the upper 32 bits, which the kernel ignores.
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		buf := make([]byte, 1)
		_, _, errno := unix.Syscall6(unix.SYS_PREAD64, f.Fd()|0xffffffff00000000, uintptr(unsafe.Pointer(&buf[0])), 1, 0, 0, 0)
		if errno != 0 {
			return errno
		}
		return nil
	case "hostile":
		// hostile KIND ARGS: the odd ways of reaching a file in hostile_paths_test.go.
		return hostileWorkload(args[1], args[2:])
	case "io":
		// io SYSCALL PATH: one system call of the read or write family on PATH.
		return doIO(args[2], path)
	}
	return fmt.Errorf("unknown workload %q", kind)
}

func readMany(path string, n int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1)
	for range n {
		if _, err := unix.Pread(int(f.Fd()), buf, 0); err != nil {
			return err
		}
	}
	return nil
}

var mmapProts = map[string]int{
	"r":  unix.PROT_READ,
	"rw": unix.PROT_READ | unix.PROT_WRITE,
	"rx": unix.PROT_READ | unix.PROT_EXEC,
}

func mapFile(path, protName string) error {
	prot, ok := mmapProts[protName]
	if !ok {
		return fmt.Errorf("unknown protection %q", protName)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, 4096, prot, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	return unix.Munmap(mem)
}

// readDeepFile makes depth nested directories with names of nameLen bytes
// under root, walking with openat so the whole path may exceed PATH_MAX, and
// writes and reads a file at the bottom.
func readDeepFile(root string, depth, nameLen int) error {
	dir, err := unix.Open(root, unix.O_DIRECTORY|unix.O_RDONLY, 0)
	if err != nil {
		return err
	}
	name := strings.Repeat("d", nameLen)
	for range depth {
		if err := unix.Mkdirat(dir, name, 0o755); err != nil && err != unix.EEXIST {
			return err
		}
		next, err := unix.Openat(dir, name, unix.O_DIRECTORY|unix.O_RDONLY, 0)
		unix.Close(dir)
		if err != nil {
			return err
		}
		dir = next
	}
	defer unix.Close(dir)

	fd, err := unix.Openat(dir, "leaf", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := make([]byte, 1)
	_, err = unix.Pread(fd, buf, 0)
	return err
}

// startWorkload runs the test binary as a workload child and returns its pid.
func runWorkloadChild(t *testing.T, args ...string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workloadEnv+"="+strings.Join(args, " "))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("workload %v: %v: %s", args, err, out)
	}
	return cmd.Process.Pid
}

// ioCalls each do one system call on a file at path opened read-write,
// reading or writing it once. The copying calls pair it with a second file.
var ioCalls = map[string]func(f, other *os.File) error{
	"read":    func(f, _ *os.File) error { _, err := unix.Read(fd(f), make([]byte, 4)); return err },
	"readv":   func(f, _ *os.File) error { _, err := unix.Readv(fd(f), [][]byte{make([]byte, 4)}); return err },
	"pread64": func(f, _ *os.File) error { _, err := unix.Pread(fd(f), make([]byte, 4), 0); return err },
	"preadv":  func(f, _ *os.File) error { _, err := unix.Preadv(fd(f), [][]byte{make([]byte, 4)}, 0); return err },
	"preadv2": func(f, _ *os.File) error { _, err := unix.Preadv2(fd(f), [][]byte{make([]byte, 4)}, 0, 0); return err },
	"write":   func(f, _ *os.File) error { _, err := unix.Write(fd(f), []byte("data")); return err },
	"writev":  func(f, _ *os.File) error { _, err := unix.Writev(fd(f), [][]byte{[]byte("data")}); return err },
	"pwrite64": func(f, _ *os.File) error {
		_, err := unix.Pwrite(fd(f), []byte("data"), 0)
		return err
	},
	"pwritev": func(f, _ *os.File) error {
		_, err := unix.Pwritev(fd(f), [][]byte{[]byte("data")}, 0)
		return err
	},
	"pwritev2": func(f, _ *os.File) error {
		_, err := unix.Pwritev2(fd(f), [][]byte{[]byte("data")}, 0, 0)
		return err
	},
	"fallocate": func(f, _ *os.File) error { return unix.Fallocate(fd(f), 0, 0, 8192) },
	// The watched file is the source; the copy goes to the unwatched other.
	"copy_file_range": func(f, other *os.File) error {
		_, err := unix.CopyFileRange(fd(f), nil, fd(other), nil, 4, 0)
		return err
	},
	"sendfile": func(f, other *os.File) error {
		_, err := unix.Sendfile(fd(other), fd(f), nil, 4)
		return err
	},
	"splice": func(f, _ *os.File) error {
		var p [2]int
		if err := unix.Pipe(p[:]); err != nil {
			return err
		}
		defer unix.Close(p[0])
		defer unix.Close(p[1])
		_, err := unix.Splice(fd(f), nil, p[1], nil, 4, 0)
		return err
	},
}

func fd(f *os.File) int { return int(f.Fd()) }

func doIO(call, path string) error {
	do, ok := ioCalls[call]
	if !ok {
		return fmt.Errorf("no such I/O call %q", call)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	other, err := os.CreateTemp("", "file-access-copy-")
	if err != nil {
		return err
	}
	defer os.Remove(other.Name())
	defer other.Close()
	return do(f, other)
}

func readInContainer(root, cgroup string) error {
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(cgroup, "cgroup.procs"), pid, 0); err != nil {
		return fmt.Errorf("joining the cgroup: %w", err)
	}
	// A new mount namespace and a root apply to the calling thread only, so
	// the read must happen on the same one.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
		return fmt.Errorf("entering a mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if err := unix.Chroot(root); err != nil {
		return fmt.Errorf("entering the root: %w", err)
	}
	_, err := os.ReadFile("/etc/passwd")
	return err
}

func anonymousIO() error {
	var pipe [2]int
	if err := unix.Pipe(pipe[:]); err != nil {
		return err
	}
	sockets, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	event, err := unix.Eventfd(0, 0)
	if err != nil {
		return err
	}
	// A memory file is on a kernel-internal mount: it has a name, no path.
	memory, err := unix.MemfdCreate("file-access-test", 0)
	if err != nil {
		return err
	}
	pairs := [][2]int{{pipe[1], pipe[0]}, {sockets[0], sockets[1]}, {event, event}}
	if _, err := unix.Write(memory, make([]byte, 4096)); err != nil {
		return err
	}
	if _, err := unix.Pread(memory, make([]byte, 8), 0); err != nil {
		return err
	}
	mapped, err := unix.Mmap(memory, 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	_ = unix.Munmap(mapped)
	for _, p := range pairs {
		if _, err := unix.Write(p[0], []byte{1, 0, 0, 0, 0, 0, 0, 0}); err != nil {
			return err
		}
		if _, err := unix.Read(p[1], make([]byte, 8)); err != nil {
			return err
		}
	}
	return nil
}
