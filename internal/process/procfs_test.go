package process

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// statTail is fields 3 to 52 of a stat line: state S, ppid 1, starttime 12345.
const statTail = "S 1 42 42 0 -1 4194560 812 0 3 0 12 7 0 0 20 0 1 0 12345 23456768 3210 " +
	"18446744073709551615 1 1 0 0 0 0 0 4096 1260 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

func TestParseStatSplitsCommAtTheLastParenthesis(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    stat
		wantErr bool
	}{
		{
			name: "plain_comm", line: "42 (bash) " + statTail,
			want: stat{comm: "bash", ppid: 1, startTicks: 12345},
		},
		{
			name: "comm_with_spaces_and_parentheses", line: "42 (my) app (x) " + statTail,
			want: stat{comm: "my) app (x", ppid: 1, startTicks: 12345},
		},
		{
			name: "comm_that_looks_like_fields", line: "42 (a) S 9 9) " + statTail,
			want: stat{comm: "a) S 9 9", ppid: 1, startTicks: 12345},
		},
		{
			name: "empty_comm", line: "42 () " + statTail,
			want: stat{comm: "", ppid: 1, startTicks: 12345},
		},
		{name: "no_parentheses", line: "42 bash " + statTail, wantErr: true},
		{name: "cut_before_starttime", line: "42 (bash) S 1 42 42 0", wantErr: true},
		{name: "ppid_not_a_number", line: "42 (bash) S x" + statTail[3:], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.line))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStat error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseStat = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatusReadsCredentialsAndNamespacedPID(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    Info
		wantErr bool
	}{
		{
			name:   "real_and_effective_ids",
			status: "Name:\tsudo\nUid:\t1000\t0\t0\t0\nGid:\t100\t0\t0\t0\nNSpid:\t42\n",
			want:   Info{UID: 1000, EUID: 0, GID: 100, EGID: 0, NsPID: 42},
		},
		{
			name:   "nested_pid_namespaces_give_the_innermost",
			status: "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t4242\t300\t7\n",
			want:   Info{NsPID: 7},
		},
		{
			name:   "no_nspid_line_before_linux_4_1",
			status: "Uid:\t5\t6\t5\t5\nGid:\t7\t8\t7\t7\n",
			want:   Info{UID: 5, EUID: 6, GID: 7, EGID: 8},
		},
		{name: "no_uid_line", status: "Gid:\t0\t0\t0\t0\n", wantErr: true},
		{name: "uid_not_a_number", status: "Uid:\tx\t0\t0\t0\nGid:\t0\t0\t0\t0\n", wantErr: true},
		{name: "one_uid_only", status: "Uid:\t0\nGid:\t0\t0\t0\t0\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tt.status))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStatus error = %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseStatus = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReadCmdlineSplitsAtNULs(t *testing.T) {
	long := strings.Repeat("a", maxArgsBytes+10)
	tests := []struct {
		name          string
		cmdline       string
		want          []string
		wantTruncated bool
	}{
		{name: "arguments", cmdline: "ls\x00-l\x00/tmp\x00", want: []string{"ls", "-l", "/tmp"}},
		{name: "empty_argument_kept", cmdline: "sh\x00-c\x00\x00", want: []string{"sh", "-c", ""}},
		{name: "kernel_thread_has_none", cmdline: ""},
		{name: "no_trailing_nul", cmdline: "rewritten title", want: []string{"rewritten title"}},
		{
			name: "long_command_line_truncated", cmdline: "x\x00" + long + "\x00",
			want: []string{"x", long[:maxArgsBytes-2]}, wantTruncated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(tt.cmdline), 0o644); err != nil {
				t.Fatal(err)
			}
			got, truncated, err := readCmdline(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) || truncated != tt.wantTruncated {
				t.Errorf("readCmdline = %q, %v, want %q, %v", got, truncated, tt.want, tt.wantTruncated)
			}
		})
	}
}
