package record

// syscallNames are the x86-64 system calls the tracepoint mode reports.
var syscallNames = map[uint16]string{
	0:   "read",
	1:   "write",
	2:   "open",
	9:   "mmap",
	17:  "pread64",
	18:  "pwrite64",
	19:  "readv",
	20:  "writev",
	40:  "sendfile",
	76:  "truncate",
	77:  "ftruncate",
	85:  "creat",
	257: "openat",
	275: "splice",
	285: "fallocate",
	304: "open_by_handle_at",
	295: "preadv",
	296: "pwritev",
	326: "copy_file_range",
	327: "preadv2",
	328: "pwritev2",
	437: "openat2",
}

// SyscallName returns the name of a system call the tracepoint mode reports,
// or "" for a record from an LSM hook.
func (r *Record) SyscallName() string {
	if r.Hook != HookSysExit {
		return ""
	}
	return syscallNames[r.Syscall]
}
