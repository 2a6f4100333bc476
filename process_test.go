package fileaccessreceiver

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func watchedFile(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "data.txt")
	require.NoError(t, os.WriteFile(file, []byte("some data\n"), 0o644))
	return dir, file
}

func stringSlice(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, len(raw))
	for i, s := range raw {
		out[i], _ = s.(string)
	}
	return out
}

// TestShortLivedProcessesKeepTheirContext runs cat 500 times: a cat has
// exited long before its records are converted, so its context must come from
// the kernel's exec record, never from /proc.
func TestShortLivedProcessesKeepTheirContext(t *testing.T) {
	dir, file := watchedFile(t)
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })
	cat := binary(t, "cat")
	catAsRun, err := exec.LookPath("cat") // argv[0]; a busybox applet needs its name
	require.NoError(t, err)

	const runs = 500
	spawner := runWorkloadChild(t, "spawn", file, strconv.Itoa(runs), catAsRun)

	seen := map[int64]access{}
	waitFor(t, r.sink, "a read by each of the cats", func(a access) bool {
		if a.event == "file_access.read" && a.exe == cat {
			seen[a.pid] = a
		}
		return len(seen) >= runs
	})
	parentExecID := ""
	for pid, a := range seen {
		if parentExecID == "" {
			parentExecID, _ = a.attrs["file_access.process.parent_exec_id"].(string)
			require.NotEmpty(t, parentExecID)
		}
		assert.Equal(t, []string{catAsRun, file}, stringSlice(a.attrs["process.command_args"]), "pid %d", pid)
		assert.Equal(t, int64(spawner), a.attrs["process.parent_pid"], "pid %d", pid)
		assert.NotEmpty(t, a.attrs["file_access.process.exec_id"], "pid %d", pid)
		assert.Equal(t, parentExecID, a.attrs["file_access.process.parent_exec_id"], "pid %d: one spawner", pid)
		assert.Equal(t, testBinary(t), a.attrs["file_access.process.parent.executable.path"], "pid %d", pid)
		assert.NotEmpty(t, a.attrs["process.working_directory"], "pid %d", pid)
		assert.NotEmpty(t, a.attrs["process.creation.time"], "pid %d", pid)
	}
}

func TestExecReplacesTheImage(t *testing.T) {
	dir, file := watchedFile(t)
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })
	pid := run(t, "sh", "-c", "exec cat "+file)

	a := waitFor(t, r.sink, "cat's read under sh's pid", func(a access) bool {
		return a.event == "file_access.read" && a.pid == int64(pid)
	})
	assert.Equal(t, binary(t, "cat"), a.exe)
	assert.Equal(t, []string{"cat", file}, stringSlice(a.attrs["process.command_args"]))
}

func TestLongArgumentListsKeepTheirHead(t *testing.T) {
	dir, file := watchedFile(t)
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })
	long := strings.Repeat("a", 5000) // past the kernel's argv bound; cat fails on it after the read
	cmd := exec.Command("cat", file, long)
	_ = cmd.Run()

	a := waitFor(t, r.sink, "the read", func(a access) bool {
		return a.event == "file_access.read" && a.pid == int64(cmd.Process.Pid)
	})
	args := stringSlice(a.attrs["process.command_args"])
	require.GreaterOrEqual(t, len(args), 2)
	assert.Equal(t, []string{"cat", file}, args[:2], "the head is kept")
	assert.Equal(t, true, a.attrs["file_access.process.command_args.truncated"])
}

func TestCommandArgsCanBeLeftOut(t *testing.T) {
	dir, file := watchedFile(t)
	r := startReceiver(t, func(c *Config) {
		c.IncludePaths = []string{dir}
		c.IncludeCommandArgs = false
		c.ProcessEvents = string(processEventsAll)
	})
	pid := run(t, "cat", file)
	waitFor(t, r.sink, "the exit", func(a access) bool { return a.event == "file_access.process.exit" && a.pid == int64(pid) })
	for _, a := range accesses(r.sink) {
		if a.pid == int64(pid) {
			assert.NotContains(t, a.attrs, "process.command_args")
			assert.NotContains(t, a.body, file+" ", "arguments in the body: %q", a.body)
		}
	}
}

// TestPidNamespaces: a process in its own pid namespace is pid 1 there; the
// record carries both numbers.
func TestPidNamespaces(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		skipOrFail(t, "no unshare: %v", err)
	}
	dir, file := watchedFile(t)
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })
	run(t, "unshare", "-pf", "cat", file)

	a := waitFor(t, r.sink, "the read in the namespace", func(a access) bool {
		return a.event == "file_access.read" && a.path == file
	})
	assert.Equal(t, int64(1), a.attrs["process.vpid"])
	assert.NotEqual(t, int64(1), a.pid)
}

// TestLifecycleRecordsJoinFileRecords: with process_events all, a process
// shows as exec, its accesses and exit, all under one exec id.
func TestLifecycleRecordsJoinFileRecords(t *testing.T) {
	dir, file := watchedFile(t)
	r := startReceiver(t, func(c *Config) {
		c.IncludePaths = []string{dir}
		c.ProcessEvents = string(processEventsAll)
	})
	pid := run(t, "cat", file)

	exit := waitFor(t, r.sink, "the exit", func(a access) bool { return a.event == "file_access.process.exit" && a.pid == int64(pid) })
	execRecord := waitFor(t, r.sink, "the exec", func(a access) bool { return a.event == "file_access.process.exec" && a.pid == int64(pid) })
	read := waitFor(t, r.sink, "the read", func(a access) bool { return a.event == "file_access.read" && a.pid == int64(pid) })
	id := execRecord.attrs["file_access.process.exec_id"]
	require.NotEmpty(t, id)
	assert.Equal(t, id, read.attrs["file_access.process.exec_id"])
	assert.Equal(t, id, exit.attrs["file_access.process.exec_id"])
	assert.Equal(t, int64(0), exit.attrs["process.exit.code"])
	assert.Contains(t, exit.body, "exit")
}

// TestWatchedProcessEventsComeFirst: with process_events watched (the
// default), a process's exec record comes just before its first access and
// processes that touch nothing watched make no records at all.
func TestWatchedProcessEventsComeFirst(t *testing.T) {
	dir, file := watchedFile(t)
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })
	quiet := run(t, "true")
	pid := run(t, "cat", file)

	waitFor(t, r.sink, "the exit", func(a access) bool { return a.event == "file_access.process.exit" && a.pid == int64(pid) })
	var events []string
	for _, a := range accesses(r.sink) {
		assert.NotEqual(t, int64(quiet), a.pid, "a process that touched nothing watched: %+v", a)
		if a.pid == int64(pid) {
			events = append(events, a.event)
		}
	}
	require.NotEmpty(t, events)
	assert.Equal(t, "file_access.process.exec", events[0])
	assert.Equal(t, "file_access.process.exit", events[len(events)-1])
}

// TestProcessesRunningBeforeStart: a shell started before the receiver is
// known from /proc, so its own later access has its context.
func TestProcessesRunningBeforeStart(t *testing.T) {
	requireRoot(t)
	dir, file := watchedFile(t)
	// read is a shell builtin: the shell itself opens and reads the file,
	// once the receiver has started (which takes seconds in an emulated VM).
	started := filepath.Join(t.TempDir(), "started")
	script := "while [ ! -e " + started + " ]; do sleep 0.05; done; read line < " + file
	shell := exec.Command("sh", "-c", script)
	require.NoError(t, shell.Start())
	t.Cleanup(func() { _ = shell.Wait() })

	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })
	require.NoError(t, os.WriteFile(started, nil, 0o644))
	a := waitFor(t, r.sink, "the shell's read", func(a access) bool {
		return a.event == "file_access.read" && a.pid == int64(shell.Process.Pid)
	})
	assert.Equal(t, "procfs", a.attrs["file_access.process.origin"])
	assert.Equal(t, binary(t, "sh"), a.exe)
	assert.Equal(t, []string{"sh", "-c", script}, stringSlice(a.attrs["process.command_args"]))
	assert.NotEmpty(t, a.attrs["file_access.process.exec_id"])
	assert.Equal(t, testBinary(t), a.attrs["file_access.process.parent.executable.path"])
}

// TestForkStormKeepsTheProcessTableBounded: hundreds of short-lived
// processes through a table bounded far below their number: it never holds
// more than its bound, ended processes make room, and every process's reads
// still carry its executable.
func TestForkStormKeepsTheProcessTableBounded(t *testing.T) {
	const bound, runs = 64, 600
	dir, file := watchedFile(t)
	r := startReceiverWith(t, func(c *Config) { c.IncludePaths = []string{dir} }, nil,
		func(r *fileAccessReceiver) { r.tableSize = bound })
	cat := binary(t, "cat")
	catAsRun, err := exec.LookPath("cat")
	require.NoError(t, err)

	runWorkloadChild(t, "spawn", file, strconv.Itoa(runs), catAsRun)
	seen := map[int64]bool{}
	waitFor(t, r.sink, "a read by each of the cats", func(a access) bool {
		if a.event == "file_access.read" && a.path == file {
			assert.Equal(t, cat, a.exe, "a read without its executable: pid %d", a.pid)
			seen[a.pid] = true
		}
		return len(seen) >= runs
	})

	require.NoError(t, r.rcv.Shutdown(context.Background()))
	assert.LessOrEqual(t, r.rcv.processes.Len(), bound)
	assert.Positive(t, r.rcv.processes.Evicted(), "the storm should have needed evictions")
}

// TestAnEvictedProcessKeepsItsExecutable: the kernel leaves the executable
// out of the records of a process whose exec it reported; when the table has
// had to evict that process while it ran, its records still name it.
func TestAnEvictedProcessKeepsItsExecutable(t *testing.T) {
	const bound = 8
	dir, file := watchedFile(t)
	r := startReceiverWith(t, func(c *Config) { c.IncludePaths = []string{dir} }, nil,
		func(r *fileAccessReceiver) { r.tableSize = bound })

	started := filepath.Join(t.TempDir(), "started")
	script := "while [ ! -e " + started + " ]; do sleep 0.05; done; read line < " + file
	shell := exec.Command("sh", "-c", script)
	require.NoError(t, shell.Start())
	t.Cleanup(func() { _ = shell.Wait() })
	// Twice the table's bound of processes newer than the shell and running:
	// the oldest running entry, the shell's, makes room.
	for range 2 * bound {
		sleeper := exec.Command("sleep", "5")
		require.NoError(t, sleeper.Start())
		t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	}
	settle()
	require.NoError(t, os.WriteFile(started, nil, 0o644))

	a := waitFor(t, r.sink, "the shell's read", readBy(shell.Process.Pid))
	assert.NotContains(t, a.attrs, "file_access.process.exec_id", "the shell was not evicted; the test proves nothing")
	assert.Equal(t, binary(t, "sh"), a.exe)
}
