package process

import (
	"reflect"
	"testing"
	"time"
)

func TestExecRecordsTheEvent(t *testing.T) {
	table, _ := newTestTable(100, time.Minute)
	table.Exec(event(1, 5, 0, 0))
	e := &Event{
		EventNs: 2000, ExecNs: 1999, ParentExecNs: 5, StartNs: 1500, CgroupID: 77,
		PID: 4242, TID: 4242, PPID: 1, NsPID: 7,
		UID: 1000, EUID: 0, GID: 100, EGID: 0, AUID: 1000,
		Executable: "/usr/bin/sudo", ExecutableTruncated: true,
		Cwd: "/home/u", CwdTruncated: true,
		Args: []string{"sudo", "-i"}, ArgsTruncated: true,
		Comm: "sudo",
	}

	got := table.Exec(e)

	want := &Info{
		Key: Key{PID: 4242, ExecNs: 1999}, ParentKey: Key{PID: 1, ExecNs: 5},
		ExecID:       ExecID(testHost, Key{PID: 4242, ExecNs: 1999}),
		ParentExecID: ExecID(testHost, Key{PID: 1, ExecNs: 5}),
		PPID:         1, NsPID: 7,
		Executable: "/usr/bin/sudo", ExecutableTruncated: true,
		Args: []string{"sudo", "-i"}, ArgsTruncated: true,
		Cwd: "/home/u", CwdTruncated: true,
		Comm: "sudo",
		UID:  1000, EUID: 0, GID: 100, EGID: 0, AUID: 1000,
		StartNs: 1500, CgroupID: 77, Origin: OriginExec,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Exec =\n%+v\nwant\n%+v", got, want)
	}
	if table.Lookup(4242, 1999) != got {
		t.Error("Lookup does not return the entry Exec made")
	}
}

func TestExecJoinsTheParentsExecID(t *testing.T) {
	tests := []struct {
		name          string
		parentExecNs  uint64
		parentKnown   bool
		wantParentKey Key
	}{
		{
			name: "parent_known_by_key", parentExecNs: 100, parentKnown: true,
			wantParentKey: Key{PID: 10, ExecNs: 100},
		},
		{
			name: "kernel_did_not_know_the_parent_so_its_latest_entry_stands_in", parentKnown: true,
			wantParentKey: Key{PID: 10, ExecNs: 100},
		},
		{
			name: "parent_unknown_to_both", wantParentKey: Key{PID: 10},
		},
		{
			name: "parent_known_only_to_the_kernel", parentExecNs: 100,
			wantParentKey: Key{PID: 10, ExecNs: 100},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, _ := newTestTable(100, time.Minute)
			if tt.parentKnown {
				table.Exec(event(10, 100, 1, 0))
			}

			child := table.Exec(event(11, 200, 10, tt.parentExecNs))

			if child.ParentKey != tt.wantParentKey {
				t.Errorf("ParentKey = %+v, want %+v", child.ParentKey, tt.wantParentKey)
			}
			wantID := ""
			if tt.wantParentKey.ExecNs != 0 {
				wantID = ExecID(testHost, tt.wantParentKey)
			}
			if child.ParentExecID != wantID {
				t.Errorf("ParentExecID = %q, want %q", child.ParentExecID, wantID)
			}
			if parent := table.Lookup(10, 100); parent != nil && parent.ExecID != child.ParentExecID {
				t.Errorf("child's ParentExecID %q is not the parent's ExecID %q",
					child.ParentExecID, parent.ExecID)
			}
		})
	}
}

func TestCloneInheritsTheParentsImage(t *testing.T) {
	tests := []struct {
		name         string
		parentExecNs uint64
		parentKnown  bool
		wantExe      string
		wantArgs     []string
		wantCwd      string
	}{
		{
			name: "parent_known_by_key", parentExecNs: 100, parentKnown: true,
			wantExe: "/usr/bin/bash", wantArgs: []string{"bash", "-l"}, wantCwd: "/srv",
		},
		{
			name: "parent_known_by_pid", parentKnown: true,
			wantExe: "/usr/bin/bash", wantArgs: []string{"bash", "-l"}, wantCwd: "/srv",
		},
		{
			name: "parent_unknown_keeps_the_events_own", parentExecNs: 100,
			wantExe: "/usr/bin/prog", wantArgs: []string{"prog"}, wantCwd: "/",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, _ := newTestTable(100, time.Minute)
			if tt.parentKnown {
				parent := event(10, 100, 1, 0)
				parent.Executable, parent.ExecutableTruncated = "/usr/bin/bash", true
				parent.Args, parent.ArgsTruncated = []string{"bash", "-l"}, true
				parent.Cwd, parent.CwdTruncated = "/srv", true
				table.Exec(parent)
			}

			child := table.Clone(event(11, 200, 10, tt.parentExecNs))

			if child.Origin != OriginClone {
				t.Errorf("Origin = %v, want clone", child.Origin)
			}
			if child.Executable != tt.wantExe || child.Cwd != tt.wantCwd ||
				!reflect.DeepEqual(child.Args, tt.wantArgs) {
				t.Errorf("clone runs %q %q in %q, want %q %q in %q",
					child.Executable, child.Args, child.Cwd, tt.wantExe, tt.wantArgs, tt.wantCwd)
			}
			truncated := child.ExecutableTruncated && child.ArgsTruncated && child.CwdTruncated
			if truncated != tt.parentKnown {
				t.Errorf("truncation flags %v %v %v, want the parent's",
					child.ExecutableTruncated, child.ArgsTruncated, child.CwdTruncated)
			}
			if want := ExecID(testHost, Key{PID: 11, ExecNs: 200}); child.ExecID != want {
				t.Errorf("ExecID = %q, want %q", child.ExecID, want)
			}
			if want := ExecID(testHost, Key{PID: 10, ExecNs: 100}); child.ParentExecID != want {
				t.Errorf("ParentExecID = %q, want %q", child.ParentExecID, want)
			}
		})
	}
}

func TestCloneDoesNotShareTheParentsArgs(t *testing.T) {
	table, _ := newTestTable(100, time.Minute)
	parent := table.Exec(event(10, 100, 1, 0))
	child := table.Clone(event(11, 200, 10, 100))

	child.Args[0] = "changed"

	if parent.Args[0] != "prog" {
		t.Errorf("changing the clone's args changed the parent's to %q", parent.Args)
	}
}

func TestExitMarksTheExec(t *testing.T) {
	tests := []struct {
		name       string
		exitExecNs uint64
		wantExecNs uint64 // the entry marked, 0 for none
	}{
		{name: "exact_key", exitExecNs: 10, wantExecNs: 10},
		{name: "zero_exec_ns_marks_latest", exitExecNs: 0, wantExecNs: 20},
		{name: "older_exec_than_any_known_is_not_marked", exitExecNs: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, _ := newTestTable(100, time.Minute)
			table.Exec(event(100, 10, 1, 0))
			table.Exec(event(100, 20, 1, 0))
			exit := event(100, tt.exitExecNs, 1, 0)
			exit.ExitCode = 9 // killed by SIGKILL

			got := table.Exit(exit)

			if tt.wantExecNs == 0 {
				if got != nil {
					t.Fatalf("Exit marked %+v, want none", got.Key)
				}
				return
			}
			if got == nil || got.Key.ExecNs != tt.wantExecNs {
				t.Fatalf("Exit marked %+v, want ExecNs %d", got, tt.wantExecNs)
			}
			if !got.Exited || got.ExitCode != 9 {
				t.Errorf("Exited, ExitCode = %v, %d, want true, 9", got.Exited, got.ExitCode)
			}
		})
	}
}

func TestExitOfUnknownProcessReturnsNil(t *testing.T) {
	table, _ := newTestTable(100, time.Minute)
	if got := table.Exit(event(100, 10, 1, 0)); got != nil {
		t.Errorf("Exit of an unknown process = %+v, want nil", got)
	}
}

func TestPIDReuseKeepsProcessesApart(t *testing.T) {
	const grace = time.Minute
	table, clock := newTestTable(100, grace)
	first := table.Exec(event(100, 1, 1, 0))
	table.Exit(event(100, 1, 1, 0))
	second := table.Exec(event(100, 2, 1, 0))

	if got := table.Lookup(100, 1); got != first {
		t.Errorf("Lookup(100, 1) within the grace = %+v, want the first process", got)
	}
	if got := table.Lookup(100, 2); got != second {
		t.Errorf("Lookup(100, 2) = %+v, want the second process", got)
	}
	if got := table.Lookup(100, 0); got != second {
		t.Errorf("Lookup(100, 0) = %+v, want the second process", got)
	}
	if first.ExecID == second.ExecID {
		t.Errorf("both processes have the exec id %q", first.ExecID)
	}

	clock.advance(grace)
	table.Exec(event(300, 3, 1, 0)) // any event expires what is due

	if got := table.Lookup(100, 1); got != nil {
		t.Errorf("Lookup(100, 1) after the grace = %+v, want nil, not the second process", got.Key)
	}
	if got := table.Lookup(100, 0); got != second {
		t.Errorf("Lookup(100, 0) after the grace = %+v, want the second process", got)
	}
}

func TestExecSupersedesTheEarlierImage(t *testing.T) {
	const grace = time.Minute
	table, clock := newTestTable(100, grace)
	shell := table.Exec(event(100, 1, 1, 0))
	shell.Announced = true
	table.Exec(event(100, 2, 1, 0)) // the shell exec's a program in its place

	if shell.Exited || shell.ExitCode != 0 {
		t.Errorf("superseded image has Exited, ExitCode = %v, %d, want false, 0",
			shell.Exited, shell.ExitCode)
	}
	clock.advance(grace - time.Nanosecond)
	table.Exec(event(300, 3, 1, 0))
	if table.Lookup(100, 1) != shell {
		t.Error("superseded image gone before the grace passed")
	}
	clock.advance(time.Nanosecond)
	table.Exec(event(301, 4, 1, 0))
	if got := table.Lookup(100, 1); got != nil {
		t.Errorf("superseded image still there after the grace: %+v", got.Key)
	}
}

func TestLateExecDoesNotBecomeLatest(t *testing.T) {
	const grace = time.Minute
	table, clock := newTestTable(100, grace)
	newer := table.Exec(event(100, 20, 1, 0))
	older := table.Exec(event(100, 10, 1, 0)) // reported late, from another CPU

	if got := table.Lookup(100, 0); got != newer {
		t.Errorf("Lookup(100, 0) = %+v, want the newer exec", got.Key)
	}
	if got := table.Lookup(100, 10); got != older {
		t.Errorf("Lookup(100, 10) = %+v, want the late exec", got)
	}
	clock.advance(grace)
	table.Exec(event(300, 3, 1, 0))
	if got := table.Lookup(100, 10); got != nil {
		t.Errorf("late exec still there after the grace: %+v", got.Key)
	}
}

func TestRepeatedExecKeepsAnnounced(t *testing.T) {
	table, _ := newTestTable(100, time.Minute)
	table.Exec(event(100, 10, 1, 0)).Announced = true
	again := event(100, 10, 1, 0)
	again.Executable = "/usr/bin/other"

	got := table.Exec(again)

	if !got.Announced || got.Executable != "/usr/bin/other" || table.Len() != 1 {
		t.Errorf("repeated exec gave Announced %v, Executable %q, Len %d; want true, the new one, 1",
			got.Announced, got.Executable, table.Len())
	}
}
