package fileaccessreceiver

// End-to-end tests of odd and hostile file names and spellings of paths: the
// path a record carries must be the file actually accessed, named so that no
// spelling gets past a prefix and no name can pass for another.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"golang.org/x/sys/unix"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/metadata"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
)

// memfdName is the name hostileWorkload gives the memory file it runs from.
const memfdName = "file-access-exe"

// hostileWorkload runs one of the workloads of this file. Paths are passed
// hex-encoded, since workload arguments are split on white space.
func hostileWorkload(kind string, args []string) error {
	paths := make([]string, len(args))
	for i, a := range args {
		b, err := hex.DecodeString(a)
		if err != nil {
			return fmt.Errorf("argument %d of %s: %w", i, kind, err)
		}
		paths[i] = string(b)
	}
	switch kind {
	case "read":
		return readOne(paths[0])
	case "read-relative":
		// read-relative DIR REL: reads REL from the working directory DIR.
		if err := os.Chdir(paths[0]); err != nil {
			return err
		}
		return readOne(paths[1])
	case "read-at":
		// read-at DIR REL: reads REL opened relative to a descriptor of DIR.
		dir, err := unix.Open(paths[0], unix.O_DIRECTORY|unix.O_RDONLY, 0)
		if err != nil {
			return err
		}
		fd, err := unix.Openat(dir, paths[1], unix.O_RDONLY, 0)
		if err != nil {
			return err
		}
		_, err = unix.Read(fd, make([]byte, 1))
		return err
	case "truncate":
		return unix.Truncate(paths[0], 0)
	case "truncate-relative":
		// truncate-relative DIR REL: truncate(2) of REL from the working directory DIR.
		if err := os.Chdir(paths[0]); err != nil {
			return err
		}
		return unix.Truncate(paths[1], 0)
	case "read-deleted":
		// Opens the file, unlinks it, then reads it.
		f, err := os.Open(paths[0])
		if err != nil {
			return err
		}
		defer f.Close()
		if err := os.Remove(paths[0]); err != nil {
			return err
		}
		_, err = f.Read(make([]byte, 1))
		return err
	case "unlink-self-read":
		// Deletes its own executable, then reads the file.
		self, err := os.Executable()
		if err != nil {
			return err
		}
		if err := os.Remove(self); err != nil {
			return err
		}
		return readOne(paths[0])
	case "rename-self-read":
		// Renames its own executable, then reads the file.
		self, err := os.Executable()
		if err != nil {
			return err
		}
		if err := os.Rename(self, self+".moved"); err != nil {
			return err
		}
		return readOne(paths[0])
	case "memfd-exec":
		// Copies its own executable into a memory file and runs it from
		// there, in the same process, to read the file.
		return execFromMemory(args[0])
	case "watch-unprivileged":
		return watchUnprivileged(paths[0])
	case "rename-between-reads":
		// rename-between-reads FILE FROM TO [uring|PROGRAM]: reads FILE,
		// renames FROM to TO (FILE itself or a directory above it), with
		// rename(2), through io_uring, or by running PROGRAM FROM TO, and
		// reads it again.
		how := ""
		if len(paths) > 3 {
			how = paths[3]
		}
		return renameBetweenReads(paths[0], paths[1], paths[2], how)
	case "move-mount-between-reads":
		// Run in a mount namespace of its own: mounts a tmpfs at FROM,
		// reads a file in it, moves the mount to TO, reads the file again.
		return moveMountBetweenReads(paths[0], paths[1])
	case "start-without-btf":
		// Run in a mount namespace of its own: hides the kernel's BTF
		// under an empty tmpfs, then starts a receiver, which must refuse.
		if err := unix.Mount("none", "/sys/kernel/btf", "tmpfs", 0, ""); err != nil {
			return fmt.Errorf("hiding the kernel's BTF: %w", err)
		}
		rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
		if err != nil {
			return err
		}
		defer rcv.Shutdown(context.Background())
		err = rcv.Start(context.Background(), componenttest.NewNopHost())
		fmt.Printf("start: %v\n", err)
		return nil
	}
	return fmt.Errorf("unknown hostile workload %q", kind)
}

func readOne(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Read(make([]byte, 1))
	return err
}

func execFromMemory(pathHex string) error {
	mem, err := unix.MemfdCreate(memfdName, unix.MFD_CLOEXEC)
	if err != nil {
		return err
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	if _, err := io.Copy(os.NewFile(uintptr(mem), memfdName), self); err != nil {
		return err
	}
	// This process runs as a workload already: its setting is replaced, not
	// repeated, for exec(2) keeps both and the first would win.
	env := []string{workloadEnv + "=hostile read " + pathHex}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, workloadEnv+"=") {
			env = append(env, kv)
		}
	}
	exe := fmt.Sprintf("/proc/self/fd/%d", mem)
	return syscall.Exec(exe, []string{exe, "-test.run=^$"}, env)
}

// watchUnprivileged starts a receiver in this process, which has no root
// but the capabilities the DaemonSet grants, lets cat read path, and
// returns once the read's record arrived.
func watchUnprivileged(path string) error {
	cfg := createDefaultConfig()
	cfg.IncludePaths = []string{path}
	cfg.FlushInterval = 20 * time.Millisecond
	if mode := os.Getenv(attachEnv); mode != "" {
		cfg.Attach = mode
	}
	sink := new(consumertest.LogsSink)
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	if err != nil {
		return err
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		return err
	}
	defer rcv.Shutdown(context.Background())

	cat := exec.Command("cat", path)
	if out, err := cat.CombinedOutput(); err != nil {
		return fmt.Errorf("cat: %v: %s", err, out)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, a := range fileAccesses(sink) {
			if a.pid == int64(cat.Process.Pid) && a.path == path {
				fmt.Printf("uid %d saw: %s\n", os.Getuid(), a.body)
				return nil
			}
		}
	}
	return fmt.Errorf("no record of cat reading %s among %d", path, len(accesses(sink)))
}

// readBy matches the read records of a process.
func readBy(pid int) func(access) bool {
	return func(a access) bool { return a.event == "file_access.read" && a.pid == int64(pid) }
}

// runHostile runs a workload of this file in a child and returns its pid.
func runHostile(t *testing.T, kind string, paths ...string) int {
	t.Helper()
	args := []string{"hostile", kind}
	for _, p := range paths {
		args = append(args, hex.EncodeToString([]byte(p)))
	}
	return runWorkloadChild(t, args...)
}

func TestFileNamesAreExactOrEscapedReversibly(t *testing.T) {
	dir := t.TempDir()
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })

	tests := []struct {
		name, file, want string
		escaped          bool
	}{
		{"valid UTF-8", "résumé-日本.txt", "résumé-日本.txt", false},
		{"control characters", "tab\there\nnew line\x1b[31mred", "tab\there\nnew line\x1b[31mred", false},
		{"a backslash in valid UTF-8", `back\slash`, `back\slash`, false},
		{"invalid bytes", "bad\xff\xfe", `bad\xff\xfe`, true},
		{"invalid bytes and a backslash", "x\\\xc3", `x\\\xc3`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			require.NoError(t, os.WriteFile(path, []byte("data"), 0o644))
			pid := runHostile(t, "read", path)

			a := waitFor(t, r.sink, "the read", readBy(pid))
			assert.Equal(t, dir+"/"+tt.want, a.path)
			assert.Equal(t, tt.want, a.attrs["file.name"])
			if tt.escaped {
				assert.Equal(t, true, a.attrs["file_access.path.escaped"])
			} else {
				assert.NotContains(t, a.attrs, "file_access.path.escaped")
			}
			assert.NotContains(t, a.body, "\n", "the body stays one line")
			assert.NotContains(t, a.body, "\x1b", "the body carries no terminal escape")
		})
	}
}

func TestDeletedFileKeepsItsPathAndSaysSo(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "doomed")
	require.NoError(t, os.WriteFile(path, []byte("data"), 0o644))
	kept := filepath.Join(dir, "kept")
	require.NoError(t, os.WriteFile(kept, []byte("data"), 0o644))
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })

	pid := runHostile(t, "read-deleted", path)
	a := waitFor(t, r.sink, "the read of the deleted file", readBy(pid))
	assert.Equal(t, path, a.path)
	assert.Equal(t, true, a.attrs["file_access.path.deleted"])
	assert.Contains(t, a.body, path+" (deleted)")

	pid = runHostile(t, "read", kept)
	a = waitFor(t, r.sink, "the read of the kept file", readBy(pid))
	assert.NotContains(t, a.attrs, "file_access.path.deleted")
}

func TestNoSpellingOfAPathGetsPastAPrefix(t *testing.T) {
	root := t.TempDir()
	secret := filepath.Join(root, "secret")
	public := filepath.Join(root, "public")
	require.NoError(t, os.Mkdir(secret, 0o755))
	require.NoError(t, os.Mkdir(public, 0o755))
	file := filepath.Join(secret, "file")
	require.NoError(t, os.WriteFile(file, []byte("data"), 0o644))
	open := filepath.Join(public, "open")
	require.NoError(t, os.WriteFile(open, []byte("data"), 0o644))
	require.NoError(t, os.Symlink("secret/file", filepath.Join(root, "link")))
	require.NoError(t, os.Symlink("../public/open", filepath.Join(secret, "way-out")))

	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{secret} })

	// truncate(2) names a path, not a file: in tracepoint mode the kernel
	// sends it as written and user space resolves it.
	spellings := []struct {
		name, kind, event string
		paths             []string
	}{
		{"symbolic link", "read", "file_access.read", []string{filepath.Join(root, "link")}},
		{"dot-dot", "read", "file_access.read", []string{public + "/../secret/./file"}},
		{"doubled slashes", "read", "file_access.read", []string{root + "//secret///file"}},
		{"relative to the working directory", "read-relative", "file_access.read", []string{public, "../secret/file"}},
		{"relative to a directory descriptor", "read-at", "file_access.read", []string{root, "public/../link"}},
		{"through /proc/self/root", "read", "file_access.read", []string{"/proc/self/root" + file}},
		{"truncate through a symbolic link", "truncate", "file_access.truncate", []string{filepath.Join(root, "link")}},
		{"truncate through dot-dot", "truncate", "file_access.truncate", []string{public + "/../secret/./file"}},
		{"truncate relative to the working directory", "truncate-relative", "file_access.truncate", []string{public, "../secret//file"}},
	}
	for _, sp := range spellings {
		t.Run(sp.name, func(t *testing.T) {
			if sp.name == "truncate through a symbolic link" && r.rcv.probe.Mode == probe.ModeTracepoint {
				t.Skip("tracepoint mode cleans a truncate(2) path but does not follow its links (README)")
			}
			pid := runHostile(t, sp.kind, sp.paths...)
			waitFor(t, r.sink, sp.event+" as "+file, func(a access) bool {
				return a.event == sp.event && a.pid == int64(pid) && a.path == file
			})
		})
	}

	t.Run("a link out of the watched directory", func(t *testing.T) {
		pids := []int{runHostile(t, "read", filepath.Join(secret, "way-out"))}
		// Tracepoint mode reports a truncate(2) through a link by the link's path (README).
		if r.rcv.probe.Mode != probe.ModeTracepoint {
			pids = append(pids, runHostile(t, "truncate", filepath.Join(secret, "way-out")))
		}
		settle()
		for _, a := range fileAccesses(r.sink) {
			assert.NotContains(t, pids, int(a.pid), "the file is not watched: %s", a.body)
		}
	})
}

func TestExecutableFromMemoryIsNamedNotAPath(t *testing.T) {
	dir, path := watchedFile(t)
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })

	pid := runHostile(t, "memfd-exec", path)
	a := waitFor(t, r.sink, "the read by the memory file", readBy(pid))
	assert.Equal(t, "memfd:"+memfdName, a.exe)
	assert.Equal(t, "memfd:"+memfdName, a.attrs["process.executable.name"])
	exec := waitFor(t, r.sink, "the exec from the memory file", func(a access) bool {
		return a.event == "file_access.process.exec" && a.pid == int64(pid)
	})
	assert.Equal(t, "memfd:"+memfdName, exec.exe)
}

// runCopyOfHostile runs a copy of the test binary named exe, exec'd after
// the receiver started, with a hostile workload on path; it returns its pid.
func runCopyOfHostile(t *testing.T, exe, kind, path string) int {
	t.Helper()
	copyFile(t, testBinary(t), exe)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), workloadEnv+"=hostile "+kind+" "+hex.EncodeToString([]byte(path)))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return cmd.Process.Pid
}

func TestDeletedExecutableIsFlagged(t *testing.T) {
	dir, path := watchedFile(t)
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{path} })
	exe := filepath.Join(dir, "vanishing")

	pid := runCopyOfHostile(t, exe, "unlink-self-read", path)
	a := waitFor(t, r.sink, "the read by the deleted executable", readBy(pid))
	assert.Equal(t, exe, a.exe)
	assert.Equal(t, true, a.attrs["file_access.executable.deleted"])
	assert.NotContains(t, a.attrs, "file_access.path.deleted")
}

// TestRecordsNameTheExecutableTheProcessRan: a process's access records
// name the executable as its exec record does, the path it was run by, even
// after the file was renamed: the kernel leaves the path out of the access
// and the receiver takes it from the exec.
func TestRecordsNameTheExecutableTheProcessRan(t *testing.T) {
	dir, path := watchedFile(t)
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{path} })
	exe := filepath.Join(dir, "before")

	pid := runCopyOfHostile(t, exe, "rename-self-read", path)
	a := waitFor(t, r.sink, "the read by the renamed executable", readBy(pid))
	assert.Equal(t, exe, a.exe)
	assert.Equal(t, "before", a.attrs["process.executable.name"])
	exec := waitFor(t, r.sink, "the exec of the renamed executable", func(a access) bool {
		return a.event == "file_access.process.exec" && a.pid == int64(pid)
	})
	assert.Equal(t, exe, exec.exe)
}

// TestRunsWithTheDaemonSetsCapabilitiesAlone runs a receiver as nobody with
// only the capabilities deploy/ grants: CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE.
func TestRunsWithTheDaemonSetsCapabilitiesAlone(t *testing.T) {
	requireRoot(t) // to hand the capabilities on
	dir, exe := publicTestBinary(t)
	path := filepath.Join(dir, "watched")
	require.NoError(t, os.WriteFile(path, []byte("data"), 0o644))

	asNobody := func() (string, error) {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), workloadEnv+"=hostile watch-unprivileged "+hex.EncodeToString([]byte(path)))
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
			AmbientCaps: []uintptr{unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYS_PTRACE},
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// Debian's kernels leave kprobes to CAP_SYS_ADMIN above paranoia level 2:
	// the receiver must say so, and work once the level is 2.
	const paranoia = "/proc/sys/kernel/perf_event_paranoid"
	level, err := os.ReadFile(paranoia)
	require.NoError(t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(level)))
	require.NoError(t, err)
	if os.Getenv(attachEnv) == string(probe.ModeKprobe) && n > 2 {
		out, err := asNobody()
		require.Error(t, err, "%s", out)
		assert.Contains(t, out, fmt.Sprintf("kernel.perf_event_paranoid is %d", n))
		require.NoError(t, os.WriteFile(paranoia, []byte("2"), 0o644))
		t.Cleanup(func() { assert.NoError(t, os.WriteFile(paranoia, level, 0o644)) })
	}

	out, err := asNobody()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, out, "uid 65534 saw: ")
	t.Logf("%s", strings.TrimSpace(out))
}

func TestStartWithoutKernelBTFSaysSo(t *testing.T) {
	requireRoot(t) // to mount over /sys in a namespace of its own
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workloadEnv+"=hostile start-without-btf")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "start: kernel BTF is not available at /sys/kernel/btf/vmlinux (the kernel needs CONFIG_DEBUG_INFO_BTF=y)")
}

func renameBetweenReads(file, from, to, how string) error {
	return readAround(file, func() error {
		switch how {
		case "":
			return os.Rename(from, to)
		case "uring":
			return uringRename(from, to)
		}
		if out, err := exec.Command(how, from, to).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", how, err, out)
		}
		return nil
	})
}

// readAround reads a byte of file, runs between, and reads a byte again
// through the same descriptor.
func readAround(file string, between func() error) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.ReadAt(make([]byte, 1), 0); err != nil {
		return err
	}
	if err := between(); err != nil {
		return err
	}
	_, err = f.ReadAt(make([]byte, 1), 0)
	return err
}

// uringRename renames through io_uring (IORING_OP_RENAMEAT), which no system
// call of the process shows.
func uringRename(from, to string) (err error) {
	r, err := openUring(false)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, r.close()) }()
	old, err := unix.BytePtrFromString(from)
	if err != nil {
		return err
	}
	renamed, err := unix.BytePtrFromString(to)
	if err != nil {
		return err
	}
	cwd := int32(unix.AT_FDCWD)
	err = r.push(uringSQE{
		Opcode:   ioringOpRenameat,
		Fd:       cwd,
		Addr:     uint64(uintptr(unsafe.Pointer(old))),
		Len:      uint32(cwd),
		Off:      uint64(uintptr(unsafe.Pointer(renamed))), // addr2
		UserData: asyncUserData,
	})
	if err != nil {
		return err
	}
	if err := r.submit(false); err != nil {
		return err
	}
	cqe, err := r.reap()
	runtime.KeepAlive(old)
	runtime.KeepAlive(renamed)
	if err != nil {
		return err
	}
	if cqe.Res < 0 {
		return fmt.Errorf("io_uring rename: %w", unix.Errno(-cqe.Res))
	}
	return nil
}

func moveMountBetweenReads(from, to string) error {
	if err := unix.Mount("none", from, "tmpfs", 0, ""); err != nil {
		return err
	}
	file := filepath.Join(from, "file")
	if err := os.WriteFile(file, []byte("data"), 0o644); err != nil {
		return err
	}
	return readAround(file, func() error { return unix.Mount(from, to, "", unix.MS_MOVE, "") })
}

// TestUnwatchedVerdictsEndWithRenamesAndMounts: the kernel remembers that a
// file is not watched; a rename or a mount move that brings it under a
// prefix must end that at once.
func TestUnwatchedVerdictsEndWithRenamesAndMounts(t *testing.T) {
	root := t.TempDir()
	watched := filepath.Join(root, "watched")
	require.NoError(t, os.Mkdir(watched, 0o755))
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{watched} })

	// Each case reads a file outside, moves it in, and reads it again: the
	// second read must be reported under its new path.
	expect := func(t *testing.T, pid int, path string) {
		t.Helper()
		waitFor(t, r.sink, "the read after the move", func(a access) bool {
			return a.event == "file_access.read" && a.pid == int64(pid) && a.path == path
		})
		reads := 0
		for _, a := range fileAccesses(r.sink) {
			if a.pid == int64(pid) && a.event == "file_access.read" {
				reads++
			}
		}
		assert.Equal(t, 1, reads, "only the read after the move is watched")
	}
	outside := func(t *testing.T) (dir, file string) {
		dir = filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "-"))
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
		file = filepath.Join(dir, "sub", "file")
		require.NoError(t, os.WriteFile(file, []byte("data"), 0o644))
		return dir, file
	}

	t.Run("the file renamed", func(t *testing.T) {
		_, file := outside(t)
		to := filepath.Join(watched, "renamed-file")
		expect(t, runHostile(t, "rename-between-reads", file, file, to), to)
	})
	t.Run("a directory above it renamed", func(t *testing.T) {
		dir, file := outside(t)
		to := filepath.Join(watched, "renamed-dir")
		expect(t, runHostile(t, "rename-between-reads", file, dir, to), filepath.Join(to, "sub", "file"))
	})
	t.Run("renamed through io_uring", func(t *testing.T) {
		if os.Getenv(attachEnv) == string(probe.ModeTracepoint) || r.rcv.probe.Mode == probe.ModeTracepoint {
			t.Skip("tracepoint mode sees no io_uring operation; README: a verdict lives at most a second")
		}
		if _, err := openUring(false); err != nil {
			skipIfAsyncUnavailable(t, err)
		}
		dir, file := outside(t)
		to := filepath.Join(watched, "uring-renamed")
		expect(t, runHostile(t, "rename-between-reads", file, dir, to, "uring"), filepath.Join(to, "sub", "file"))
	})
	t.Run("a mount moved", func(t *testing.T) {
		from := filepath.Join(root, "mount-from")
		to := filepath.Join(watched, "mount-to")
		require.NoError(t, os.Mkdir(from, 0o755))
		require.NoError(t, os.Mkdir(to, 0o755))
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), workloadEnv+"=hostile move-mount-between-reads "+
			hex.EncodeToString([]byte(from))+" "+hex.EncodeToString([]byte(to)))
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		expect(t, cmd.Process.Pid, filepath.Join(to, "file"))
	})
}

// TestThirtyTwoBitRenamesEndVerdicts: a rename through the 32-bit system call
// interface moves files as any other, so it must end the kernel's unwatched
// verdicts too. The renaming program is built for 386 here, so the test needs
// a Go toolchain (not in the VMs) and a kernel with 32-bit emulation.
func TestThirtyTwoBitRenamesEndVerdicts(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no Go toolchain to build the 32-bit program")
	}
	prog := filepath.Join(t.TempDir(), "rename32")
	build := exec.Command(goTool, "build", "-o", prog, "./testdata/rename32")
	build.Env = append(os.Environ(), "GOARCH=386", "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	probeDir := t.TempDir()
	if out, err := exec.Command(prog, filepath.Join(probeDir, "a"), filepath.Join(probeDir, "b")).CombinedOutput(); !strings.Contains(string(out), "no such file") {
		t.Skipf("the 32-bit program does not run here (no 32-bit emulation?): %v: %s", err, out)
	}

	root := t.TempDir()
	watched := filepath.Join(root, "watched")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "outside", "sub"), 0o755))
	require.NoError(t, os.Mkdir(watched, 0o755))
	file := filepath.Join(root, "outside", "sub", "file")
	require.NoError(t, os.WriteFile(file, []byte("data"), 0o644))
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{watched} })

	moved := filepath.Join(watched, "moved")
	pid := runHostile(t, "rename-between-reads", file, filepath.Join(root, "outside"), moved, prog)
	waitFor(t, r.sink, "the read after the 32-bit rename", func(a access) bool {
		return a.event == "file_access.read" && a.pid == int64(pid) && a.path == filepath.Join(moved, "sub", "file")
	})
}

// TestTheNewImagesMapsAtExecNameIt: in the hook modes the kernel's own maps of
// an executable during execve are accesses of the exec'ing process, made
// before its exec is reported; they name the new executable, not the one the
// process ran before.
func TestTheNewImagesMapsAtExecNameIt(t *testing.T) {
	dir, file := watchedFile(t)
	image := filepath.Join(dir, "cat")
	copyFile(t, binary(t, "cat"), image)
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })
	if r.rcv.probe.Mode == probe.ModeTracepoint {
		t.Skip("tracepoint mode sees system calls, not the kernel's maps at execve")
	}

	// A child exec'd after the start forks and execs the copy: the fork is
	// known by its parent's reported exec until the copy's exec is reported.
	runWorkloadChild(t, "spawn", file, "1", image)
	a := waitFor(t, r.sink, "the kernel's map of the copy", func(a access) bool {
		return a.event == "file_access.mmap" && a.path == image
	})
	assert.Equal(t, image, a.exe)
}
