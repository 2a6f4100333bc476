package process

// Event is one process lifecycle event from the kernel: an exec, a clone or an
// exit, as the ring buffer reports it.
type Event struct {
	// EventNs is when the event happened, in CLOCK_BOOTTIME nanoseconds.
	EventNs uint64
	// ExecNs is the process's key: when it exec'd or, if it has not, when it
	// was cloned, in CLOCK_BOOTTIME nanoseconds.
	ExecNs uint64
	// ParentExecNs is the parent's key, 0 if the kernel did not know it.
	ParentExecNs uint64
	// StartNs is when the process started, in CLOCK_BOOTTIME nanoseconds.
	StartNs  uint64
	CgroupID uint64

	PID, TID, PPID, NsPID      uint32
	UID, EUID, GID, EGID, AUID uint32

	// ExitCode is the status as wait(2) reports it: the exit status shifted
	// left by 8, or the terminating signal in the low 7 bits.
	ExitCode int32

	Executable          string
	ExecutableTruncated bool
	// ExecutableDeleted is set when the executable was unlinked before the exec was seen.
	ExecutableDeleted bool
	Cwd               string
	CwdTruncated      bool
	Args              []string
	ArgsTruncated     bool
	Comm              string
}
