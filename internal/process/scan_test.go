package process

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Start times in testdata/procfs, in ticks of 10 ms, as nanoseconds.
const (
	initStart   = 3 * nsPerTick
	appStart    = 123456 * nsPerTick
	workerStart = 123500 * nsPerTick
)

// fakeProcfs copies testdata/procfs to a temporary directory and adds the
// exe and cwd links, which are not kept in the repository as links.
func fakeProcfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(filepath.Join("testdata", "procfs"))); err != nil {
		t.Fatalf("copying the fake procfs: %v", err)
	}
	links := map[string]string{
		"1/exe":    "/usr/lib/systemd/systemd",
		"1/cwd":    "/",
		"4242/exe": "/usr/bin/python3.11",
		"4242/cwd": "/home/u",
		"4243/exe": "/usr/bin/python3.11",
		"4243/cwd": "/home/u/work",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatalf("linking %s: %v", name, err)
		}
	}
	return root
}

func TestScanReadsEveryProcessOfProcfs(t *testing.T) {
	table := NewTable(testHost, 100, time.Minute)
	seeds, err := table.Scan(fakeProcfs(t))
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}

	tests := []struct {
		name string
		want Info
	}{
		{
			name: "init",
			want: Info{
				Key: Key{PID: 1, ExecNs: initStart}, ParentKey: Key{PID: 0},
				PPID: 0, NsPID: 1,
				Executable: "/usr/lib/systemd/systemd", Args: []string{"/sbin/init", "splash"},
				Cwd: "/", Comm: "systemd", AUID: unsetLoginUID, StartNs: initStart,
			},
		},
		{
			name: "kernel_thread_without_exe_cmdline_loginuid_or_nspid",
			want: Info{
				Key: Key{PID: 2, ExecNs: initStart}, ParentKey: Key{PID: 0},
				PPID: 0, NsPID: 2, Comm: "kthreadd", AUID: unsetLoginUID, StartNs: initStart,
			},
		},
		{
			name: "comm_with_spaces_and_parentheses_in_a_pid_namespace",
			want: Info{
				Key: Key{PID: 4242, ExecNs: appStart}, ParentKey: Key{PID: 1, ExecNs: initStart},
				PPID: 1, NsPID: 7,
				Executable: "/usr/bin/python3.11", Args: []string{"python3", "-c", "", "print(1)"},
				Cwd: "/home/u", Comm: "my) app (x",
				UID: 1000, EUID: 1001, GID: 100, EGID: 101, AUID: 1000, StartNs: appStart,
			},
		},
		{
			name: "child_joined_to_its_scanned_parent",
			want: Info{
				Key: Key{PID: 4243, ExecNs: workerStart}, ParentKey: Key{PID: 4242, ExecNs: appStart},
				PPID: 4242, NsPID: 8,
				Executable: "/usr/bin/python3.11", Args: []string{"python3", "-c", "", "print(1)"},
				Cwd: "/home/u/work", Comm: "my) app (x",
				UID: 1000, EUID: 1000, GID: 100, EGID: 100, AUID: 1000, StartNs: workerStart,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			want.Origin = OriginProcfs
			want.ExecID = ExecID(testHost, want.Key)
			if want.ParentKey.ExecNs != 0 {
				want.ParentExecID = ExecID(testHost, want.ParentKey)
			}
			got := table.Lookup(want.Key.PID, want.Key.ExecNs)
			if got == nil {
				t.Fatalf("pid %d not in the table", want.Key.PID)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("scanned\n%+v\nwant\n%+v", *got, want)
			}
		})
	}

	if table.Len() != len(tests) {
		t.Errorf("Len() = %d, want %d: only process directories count", table.Len(), len(tests))
	}
	wantSeeds := []Seed{
		{PID: 1, ExecNs: initStart},
		{PID: 2, ExecNs: initStart},
		{PID: 4242, ExecNs: appStart, ParentExecNs: initStart},
		{PID: 4243, ExecNs: workerStart, ParentExecNs: appStart},
	}
	if !reflect.DeepEqual(sortedSeeds(seeds), wantSeeds) {
		t.Errorf("seeds = %+v, want %+v", seeds, wantSeeds)
	}
}

func TestScanKeepsWhatTheTableKnows(t *testing.T) {
	const appExec = appStart + 5*uint64(time.Second)
	table := NewTable(testHost, 100, time.Minute)
	// pid 4242 exec'd after it started, and the probe saw it.
	known := table.Exec(event(4242, appExec, 1, 0))
	known.Announced = true
	// pid 1 was an earlier process, gone, whose pid init has since taken.
	earlier := table.Exec(event(1, 5, 0, 0))
	table.Exit(event(1, 5, 0, 0))

	seeds, err := table.Scan(fakeProcfs(t))
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}

	if got := table.Lookup(4242, 0); got != known || got.Origin != OriginExec || !got.Announced {
		t.Errorf("Scan replaced the entry the exec made with %+v", got)
	}
	if got := table.Lookup(1, 0); got == nil || got.Key.ExecNs != initStart {
		t.Errorf("Lookup(1, 0) = %+v, want the scanned init", got)
	}
	if got := table.Lookup(1, 5); got != earlier {
		t.Errorf("Scan dropped the earlier, exited pid 1: Lookup(1, 5) = %+v", got)
	}
	if got := table.Lookup(4243, 0); got == nil ||
		got.ParentKey != (Key{PID: 4242, ExecNs: appExec}) {
		t.Errorf("child's ParentKey = %+v, want the exec the table knows", got)
	}
	for _, s := range seeds {
		if s.PID == 4242 && s.ExecNs != appExec {
			t.Errorf("seed for pid 4242 = %+v, want the table's ExecNs %d", s, appExec)
		}
	}
}

func TestScanFailsOnlyWithoutProcRoot(t *testing.T) {
	table := NewTable(testHost, 100, time.Minute)
	if _, err := table.Scan(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Scan of a missing procfs succeeded")
	}
	seeds, err := table.Scan(t.TempDir())
	if err != nil || len(seeds) != 0 {
		t.Errorf("Scan of an empty procfs = %v, %v, want no seeds and no error", seeds, err)
	}
}

func TestScanFindsTheTestProcess(t *testing.T) {
	table := NewTable(testHost, 1<<16, time.Minute)
	seeds, err := table.Scan("/proc")
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}

	pid := uint32(os.Getpid())
	self := table.Lookup(pid, 0)
	if self == nil {
		t.Fatalf("pid %d not found in /proc", pid)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		t.Fatal(err)
	}
	if self.Executable != exe {
		t.Errorf("Executable = %q, want %q", self.Executable, exe)
	}
	if !reflect.DeepEqual(self.Args, os.Args) {
		t.Errorf("Args = %q, want %q", self.Args, os.Args)
	}
	if self.PPID != uint32(os.Getppid()) || self.UID != uint32(os.Getuid()) {
		t.Errorf("PPID, UID = %d, %d, want %d, %d", self.PPID, self.UID, os.Getppid(), os.Getuid())
	}
	if wd, _ := os.Getwd(); self.Cwd != wd {
		t.Errorf("Cwd = %q, want %q", self.Cwd, wd)
	}

	// The start time is in the past of the boot clock, by less than the
	// test has run plus a tick.
	var now unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &now); err != nil {
		t.Fatal(err)
	}
	if age := time.Duration(uint64(now.Nano()) - self.StartNs); age < 0 || age > time.Hour {
		t.Errorf("start time %d ns is %v before now on the boot clock", self.StartNs, age)
	}

	want := Seed{PID: pid, ExecNs: self.Key.ExecNs, ParentExecNs: self.ParentKey.ExecNs}
	if !slices.Contains(seeds, want) {
		t.Errorf("no seed for pid %d keyed %d", pid, self.Key.ExecNs)
	}
}

func sortedSeeds(seeds []Seed) []Seed {
	return slices.SortedFunc(slices.Values(seeds), func(a, b Seed) int {
		return int(a.PID) - int(b.PID)
	})
}

func TestInInitTreeFollowsParentsToANamespaceInit(t *testing.T) {
	// 1 is the host's init; 100 is a pid namespace's init with a child 101
	// and grandchild 102; 200 was entered into that namespace from outside.
	parents := map[uint32]uint32{1: 0, 100: 1, 101: 100, 102: 101, 200: 1, 300: 301, 301: 300}
	nsInits := map[uint32]bool{100: true}
	tests := []struct {
		pid  uint32
		want bool
	}{
		{1, false},
		{100, true},
		{101, true},
		{102, true},
		{200, false},
		{300, false}, // a parent loop from pid reuse ends the walk
		{999, false}, // not scanned
	}
	for _, tt := range tests {
		if got := inInitTree(tt.pid, parents, nsInits); got != tt.want {
			t.Errorf("inInitTree(%d) = %v, want %v", tt.pid, got, tt.want)
		}
	}
}
