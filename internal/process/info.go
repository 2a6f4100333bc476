package process

import "time"

// Origin tells how the table learned of a process.
type Origin uint8

const (
	// OriginExec is an entry made from the kernel's exec event.
	OriginExec Origin = iota + 1
	// OriginClone is an entry made from the kernel's clone event, for a
	// process that has not exec'd and so runs its parent's executable.
	OriginClone
	// OriginProcfs is an entry made by Scan, for a process that was running
	// before the probe.
	OriginProcfs
)

// String returns the origin's name: exec, clone or procfs.
func (o Origin) String() string {
	switch o {
	case OriginExec:
		return "exec"
	case OriginClone:
		return "clone"
	case OriginProcfs:
		return "procfs"
	}
	return "unknown"
}

// Info is what is known of one exec of one process. The table owns it; the
// caller may set Announced and must not change the rest.
type Info struct {
	// Key is the exec's key and ParentKey the parent's. ParentKey.ExecNs is 0
	// when neither the kernel nor the table knew the parent's exec.
	Key, ParentKey Key
	// ExecID and ParentExecID are ExecID of Key and ParentKey, ParentExecID
	// empty when ParentKey.ExecNs is 0.
	ExecID, ParentExecID string

	// PPID is the parent's pid and NsPID the pid in the process's own pid
	// namespace.
	PPID, NsPID uint32

	// Executable is the path of the executable, empty for kernel threads.
	Executable          string
	ExecutableTruncated bool
	Args                []string
	ArgsTruncated       bool
	Cwd                 string
	CwdTruncated        bool
	// Comm is the kernel's short name of the task, what names a kernel thread.
	Comm string

	UID, EUID, GID, EGID uint32
	// AUID is the login uid, 4294967295 when unset.
	AUID uint32

	// StartNs is when the process started, in CLOCK_BOOTTIME nanoseconds.
	StartNs  uint64
	CgroupID uint64
	Origin   Origin

	// Announced is set by the receiver once it has emitted the exec's record.
	Announced bool

	// Exited is set by the process's exit event, and ExitCode is its wait(2)
	// status.
	Exited   bool
	ExitCode int32

	// exitedAt is when the entry began its grace: when the process exited or
	// when a newer exec of its pid superseded it.
	exitedAt time.Time
}
