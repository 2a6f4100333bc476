package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// nsPerTick converts proc_pid_stat(5)'s clock ticks to nanoseconds: the
	// kernel reports them in USER_HZ, which is 100 on Linux.
	nsPerTick = 10_000_000

	// statFirstField is the number of the first field after comm, the state,
	// in proc_pid_stat(5); statPPIDField and statStartField are the fields of
	// the parent's pid and of the start time.
	statFirstField = 3
	statPPIDField  = 4
	statStartField = 22

	// maxArgsBytes bounds the argv kept for a scanned process, as the kernel
	// side bounds it for an exec, so a huge command line cannot inflate the
	// table.
	maxArgsBytes = 4095

	// unsetLoginUID is the login uid of a process that never logged in, and
	// what is assumed when the kernel has no audit support.
	unsetLoginUID = math.MaxUint32
)

// errReplaced says that the pid's process changed while it was being read.
var errReplaced = errors.New("process replaced while being read")

// stat is what is kept of /proc/PID/stat.
type stat struct {
	comm       string
	ppid       uint32
	startTicks uint64
}

// readProcess reads the process pid from the procfs at procRoot. Its stat is
// read again at the end, so that a process that vanished, or whose pid was
// reused, while its other files were read is an error, not a mixed entry.
func readProcess(procRoot string, pid uint32) (Info, error) {
	dir := filepath.Join(procRoot, strconv.FormatUint(uint64(pid), 10))
	st, err := readStat(dir)
	if err != nil {
		return Info{}, err
	}
	info, err := readStatus(dir)
	if err != nil {
		return Info{}, err
	}
	info.Args, info.ArgsTruncated, err = readCmdline(dir)
	if err != nil {
		return Info{}, err
	}

	// Both links fail for kernel threads, which have no executable of their
	// own, and may fail for lack of privilege; an empty path says either.
	info.Executable, _ = os.Readlink(filepath.Join(dir, "exe"))
	info.Cwd, _ = os.Readlink(filepath.Join(dir, "cwd"))
	info.AUID = readLoginUID(dir)

	again, err := readStat(dir)
	if err != nil {
		return Info{}, err
	}
	if again.startTicks != st.startTicks {
		return Info{}, fmt.Errorf("reading pid %d: %w", pid, errReplaced)
	}

	info.StartNs = st.startTicks * nsPerTick
	info.Key = Key{PID: pid, ExecNs: info.StartNs}
	info.PPID = st.ppid
	info.Comm = st.comm
	info.Origin = OriginProcfs
	if info.NsPID == 0 {
		info.NsPID = pid
	}
	return info, nil
}

// readStat reads and parses dir/stat.
func readStat(dir string) (stat, error) {
	data, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return stat{}, fmt.Errorf("reading stat: %w", err)
	}
	st, err := parseStat(data)
	if err != nil {
		return stat{}, fmt.Errorf("parsing %s: %w", filepath.Join(dir, "stat"), err)
	}
	return st, nil
}

// parseStat parses proc_pid_stat(5). comm is in parentheses and may hold
// spaces and parentheses of its own, but the kernel adds none after it, so it
// ends at the last ')'.
func parseStat(data []byte) (stat, error) {
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return stat{}, errors.New("no comm in parentheses")
	}
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < statStartField-statFirstField+1 {
		return stat{}, fmt.Errorf("%d fields after comm, want at least %d",
			len(fields), statStartField-statFirstField+1)
	}
	ppid, err := strconv.ParseUint(fields[statPPIDField-statFirstField], 10, 32)
	if err != nil {
		return stat{}, fmt.Errorf("parsing ppid: %w", err)
	}
	start, err := strconv.ParseUint(fields[statStartField-statFirstField], 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("parsing starttime: %w", err)
	}
	return stat{comm: string(data[open+1 : end]), ppid: uint32(ppid), startTicks: start}, nil
}

// readStatus reads the credentials and the namespaced pid from dir/status.
func readStatus(dir string) (Info, error) {
	data, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return Info{}, fmt.Errorf("reading status: %w", err)
	}
	info, err := parseStatus(data)
	if err != nil {
		return Info{}, fmt.Errorf("parsing %s: %w", filepath.Join(dir, "status"), err)
	}
	return info, nil
}

// parseStatus parses the Uid:, Gid: and NSpid: lines of proc_pid_status(5).
// The first two are required; NSpid:, missing before Linux 4.1, leaves NsPID
// 0. Of NSpid:'s pids, one a nested pid namespace, the last is the innermost.
func parseStatus(data []byte) (Info, error) {
	var info Info
	var haveUID, haveGID bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		var err error
		switch name {
		case "Uid":
			info.UID, info.EUID, err = realAndEffective(fields)
			haveUID = true
		case "Gid":
			info.GID, info.EGID, err = realAndEffective(fields)
			haveGID = true
		case "NSpid":
			if len(fields) > 0 {
				info.NsPID, err = parseID(fields[len(fields)-1])
			}
		}
		if err != nil {
			return Info{}, fmt.Errorf("parsing %s: %w", name, err)
		}
	}
	if err := sc.Err(); err != nil {
		return Info{}, fmt.Errorf("scanning lines: %w", err)
	}
	if !haveUID || !haveGID {
		return Info{}, errors.New("no Uid: or no Gid: line")
	}
	return info, nil
}

// realAndEffective parses the first two of a Uid: or Gid: line's ids.
func realAndEffective(fields []string) (realID, effectiveID uint32, err error) {
	if len(fields) < 2 {
		return 0, 0, fmt.Errorf("%d ids, want 4", len(fields))
	}
	if realID, err = parseID(fields[0]); err != nil {
		return 0, 0, err
	}
	if effectiveID, err = parseID(fields[1]); err != nil {
		return 0, 0, err
	}
	return realID, effectiveID, nil
}

func parseID(s string) (uint32, error) {
	id, err := strconv.ParseUint(s, 10, 32)
	return uint32(id), err
}

// readCmdline reads dir/cmdline, at most maxArgsBytes of it. Each argument is
// NUL-terminated; a truncated last argument is kept as far as it goes.
func readCmdline(dir string) (args []string, truncated bool, err error) {
	f, err := os.Open(filepath.Join(dir, "cmdline"))
	if err != nil {
		return nil, false, fmt.Errorf("opening cmdline: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxArgsBytes+1))
	if err != nil {
		return nil, false, fmt.Errorf("reading cmdline: %w", err)
	}
	if len(data) > maxArgsBytes {
		data, truncated = data[:maxArgsBytes], true
	}

	data = bytes.TrimSuffix(data, []byte{0})
	if len(data) == 0 {
		return nil, truncated, nil
	}
	return strings.Split(string(data), "\x00"), truncated, nil
}

// readLoginUID reads dir/loginuid, absent without audit support.
func readLoginUID(dir string) uint32 {
	data, err := os.ReadFile(filepath.Join(dir, "loginuid"))
	if err != nil {
		return unsetLoginUID
	}
	auid, err := parseID(strings.TrimSpace(string(data)))
	if err != nil {
		return unsetLoginUID
	}
	return auid
}
