// Package record decodes the records the kernel programs write to the ring buffer.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
)

// Op is the kind of access.
type Op uint16

// The operations, with the kernel side's values.
const (
	OpRead     = Op(probe.FileaccessOpOP_READ)
	OpWrite    = Op(probe.FileaccessOpOP_WRITE)
	OpMmap     = Op(probe.FileaccessOpOP_MMAP)
	OpTruncate = Op(probe.FileaccessOpOP_TRUNCATE)
)

// String returns the operation's configuration name: read, write, mmap or truncate.
func (o Op) String() string {
	switch o {
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	case OpMmap:
		return "mmap"
	case OpTruncate:
		return "truncate"
	}
	return fmt.Sprintf("op(%d)", uint16(o))
}

// Hook is the kernel function or tracepoint a record came from.
type Hook uint16

// The hooks, with the kernel side's values.
const (
	HookFilePermission = Hook(probe.FileaccessHookHOOK_FILE_PERMISSION)
	HookMmapFile       = Hook(probe.FileaccessHookHOOK_MMAP_FILE)
	HookPathTruncate   = Hook(probe.FileaccessHookHOOK_PATH_TRUNCATE)
	HookFileTruncate   = Hook(probe.FileaccessHookHOOK_FILE_TRUNCATE)
	HookSysExit        = Hook(probe.FileaccessHookHOOK_SYS_EXIT)
)

// String returns the kernel's name for the hook.
func (h Hook) String() string {
	switch h {
	case HookFilePermission:
		return "security_file_permission"
	case HookMmapFile:
		return "security_mmap_file"
	case HookPathTruncate:
		return "security_path_truncate"
	case HookFileTruncate:
		return "security_file_truncate"
	case HookSysExit:
		return "sys_exit"
	}
	return fmt.Sprintf("hook(%d)", uint16(h))
}

// Kind is what a ring buffer record reports.
type Kind uint32

// The kinds, with the kernel side's values.
const (
	KindFile  = Kind(probe.FileaccessRecordKindKIND_FILE)
	KindExec  = Kind(probe.FileaccessRecordKindKIND_EXEC)
	KindClone = Kind(probe.FileaccessRecordKindKIND_CLONE)
	KindExit  = Kind(probe.FileaccessRecordKindKIND_EXIT)
)

// KindOf reads the kind every ring buffer record starts with.
func KindOf(sample []byte) (Kind, error) {
	if len(sample) < 4 {
		return 0, fmt.Errorf("%w: %d bytes, no kind", ErrShort, len(sample))
	}
	return Kind(binary.NativeEndian.Uint32(sample)), nil
}

// Record is one file access.
type Record struct {
	// BootNs is when the access returned, in nanoseconds of CLOCK_BOOTTIME.
	BootNs uint64
	// ExecNs, with PID, is the key of the process in the process table; 0
	// when the kernel had no entry for the process.
	ExecNs   uint64
	CgroupID uint64
	// Return is the hook's return value: 0 or a negative errno. In the
	// tracepoint mode it is the system call's.
	Return int64
	// Mask is the permission mask (MAY_READ 4, MAY_WRITE 2) of
	// security_file_permission, and Prot the protection of an mmap.
	Mask      uint32
	Prot      uint32
	MmapFlags uint64
	Inode     uint64
	// Mode is the file's type and permission bits, as in stat's st_mode.
	Mode uint32
	PID  uint32
	TID  uint32
	PPID uint32
	UID  uint32
	EUID uint32
	GID  uint32
	EGID uint32
	// AUID is the login uid, 4294967295 when unset.
	AUID uint32
	Op   Op
	Hook Hook
	// Syscall is the system call number (x86-64) in the tracepoint mode, else 0.
	Syscall uint16
	// Path is the file's path as the process sees it, from its own root.
	Path          string
	PathTruncated bool
	// PathDeleted is set when the file was unlinked while open; Path is the
	// one it had.
	PathDeleted bool
	// PathAsWritten is set when Path is the one a truncate(2) named, as
	// written, not resolved, and not yet filtered: see the tracepoint mode.
	PathAsWritten bool
	// Executable is the path of the process's executable, empty for kernel
	// threads. An executable on a kernel-internal mount (memfd_create(2)) has
	// no path: it is its name, "memfd:NAME", which does not start with '/'.
	Executable          string
	ExecutableTruncated bool
	ExecutableDeleted   bool
	// ExecutableOfExec is set when the kernel left the executable's path out,
	// as user space has it from the process's exec record: Executable and
	// ExecutableTruncated are empty until they are taken from there.
	ExecutableOfExec bool
	// Dedup is set when the record opened a dedup window: its repeats within
	// the window are counted in the kernel, not sent.
	Dedup bool
	// Comm is the thread's name, at most 15 bytes.
	Comm string

	// text holds the strings of the records decoded into this one; it is
	// kept from one Decode to the next, and shared by copies of the Record.
	text *text
}

type header = probe.FileaccessRecord

const headerSize = int(unsafe.Sizeof(header{}))

// ErrShort is returned for a sample too short for what its header announces.
var ErrShort = errors.New("ring buffer sample shorter than its record")

// Decode fills r from one ring buffer sample. The header is copied out of the
// sample in one load (ring buffer samples are 8-byte aligned) and the strings
// are copies, so the sample's buffer may be reused afterwards. Decoding into
// the same Record again and again is what makes the strings cheap: they are
// copied into buffers the Record keeps, and an executable or thread name
// equal to the previous record's is that record's string. A Record (and its
// copies) is for one goroutine at a time.
func Decode(sample []byte, r *Record) error {
	if len(sample) < headerSize {
		return fmt.Errorf("%w: %d bytes, the header alone is %d", ErrShort, len(sample), headerSize)
	}
	h := *(*header)(unsafe.Pointer(&sample[0]))
	if Kind(h.Kind) != KindFile {
		return fmt.Errorf("record of kind %d is not a file access", h.Kind)
	}
	rest := sample[headerSize:]
	if int(h.PathLen)+int(h.ExeLen) > len(rest) {
		return fmt.Errorf("%w: %d bytes of paths announced, %d present", ErrShort, int(h.PathLen)+int(h.ExeLen), len(rest))
	}

	t := r.text
	if t == nil {
		t = new(text)
	}
	exe := rest[h.PathLen : int(h.PathLen)+int(h.ExeLen)]
	*r = Record{
		BootNs:              h.BootNs,
		ExecNs:              h.ExecNs,
		CgroupID:            h.CgroupId,
		Return:              h.Ret,
		MmapFlags:           h.MmapFlags,
		Inode:               h.Ino,
		Mode:                h.Mode,
		PID:                 h.Pid,
		TID:                 h.Tid,
		PPID:                h.Ppid,
		UID:                 h.Uid,
		EUID:                h.Euid,
		GID:                 h.Gid,
		EGID:                h.Egid,
		AUID:                h.Auid,
		Op:                  Op(h.Op),
		Hook:                Hook(h.Hook),
		Syscall:             h.SyscallNr,
		Path:                t.copy(rest[:h.PathLen]),
		PathTruncated:       h.Flags&uint16(probe.FileaccessRecordFlagRECORD_PATH_TRUNCATED) != 0,
		PathDeleted:         h.Flags&uint16(probe.FileaccessRecordFlagRECORD_PATH_DELETED) != 0,
		PathAsWritten:       h.Flags&uint16(probe.FileaccessRecordFlagRECORD_PATH_AS_WRITTEN) != 0,
		Executable:          t.reuse(r.Executable, exe),
		ExecutableTruncated: h.Flags&uint16(probe.FileaccessRecordFlagRECORD_EXE_TRUNCATED) != 0,
		ExecutableDeleted:   h.Flags&uint16(probe.FileaccessRecordFlagRECORD_EXE_DELETED) != 0,
		ExecutableOfExec:    h.Flags&uint16(probe.FileaccessRecordFlagRECORD_EXE_OF_EXEC) != 0,
		Dedup:               h.Flags&uint16(probe.FileaccessRecordFlagRECORD_DEDUP) != 0,
		Comm:                t.reuse(r.Comm, cBytes(h.Comm[:])),
		text:                t,
	}
	switch r.Op {
	case OpMmap:
		r.Prot = uint32(h.Arg)
	case OpRead, OpWrite:
		r.Mask = uint32(h.Arg)
	}
	return nil
}

// cBytes returns the bytes of a NUL-terminated C string, without the NUL.
func cBytes(b []int8) []byte {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func cString(b []int8) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(b[i])
	}
	return string(out)
}
