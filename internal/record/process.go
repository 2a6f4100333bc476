package record

import (
	"bytes"
	"fmt"
	"unsafe"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/process"
)

type procHeader = probe.FileaccessProcRecord

const procHeaderSize = int(unsafe.Sizeof(procHeader{}))

// DecodeProcess fills e from a ring buffer sample of kind exec, clone or exit
// and returns the kind. The strings are copies, as in Decode.
func DecodeProcess(sample []byte, e *process.Event) (Kind, error) {
	if len(sample) < procHeaderSize {
		return 0, fmt.Errorf("%w: %d bytes, a process header is %d", ErrShort, len(sample), procHeaderSize)
	}
	h := *(*procHeader)(unsafe.Pointer(&sample[0]))
	kind := Kind(h.Kind)
	if kind != KindExec && kind != KindClone && kind != KindExit {
		return 0, fmt.Errorf("record of kind %d is not a process event", h.Kind)
	}
	rest := sample[procHeaderSize:]
	exeEnd := int(h.ExeLen)
	cwdEnd := exeEnd + int(h.CwdLen)
	argsEnd := cwdEnd + int(h.ArgsLen)
	if argsEnd > len(rest) {
		return 0, fmt.Errorf("%w: %d bytes of strings announced, %d present", ErrShort, argsEnd, len(rest))
	}

	*e = process.Event{
		EventNs:             h.EventNs,
		ExecNs:              h.ExecNs,
		ParentExecNs:        h.ParentExecNs,
		StartNs:             h.StartNs,
		CgroupID:            h.CgroupId,
		PID:                 h.Pid,
		TID:                 h.Tid,
		PPID:                h.Ppid,
		NsPID:               h.NsPid,
		UID:                 h.Uid,
		EUID:                h.Euid,
		GID:                 h.Gid,
		EGID:                h.Egid,
		AUID:                h.Auid,
		ExitCode:            h.ExitCode,
		Executable:          string(rest[:exeEnd]),
		ExecutableTruncated: h.Flags&uint32(probe.FileaccessRecordFlagRECORD_EXE_TRUNCATED) != 0,
		ExecutableDeleted:   h.Flags&uint32(probe.FileaccessRecordFlagRECORD_EXE_DELETED) != 0,
		Cwd:                 string(rest[exeEnd:cwdEnd]),
		CwdTruncated:        h.Flags&uint32(probe.FileaccessRecordFlagRECORD_CWD_TRUNCATED) != 0,
		Args:                splitArgs(rest[cwdEnd:argsEnd]),
		ArgsTruncated:       h.Flags&uint32(probe.FileaccessRecordFlagRECORD_ARGS_TRUNCATED) != 0,
		Comm:                cString(h.Comm[:]),
	}
	return kind, nil
}

// splitArgs splits argv as the kernel keeps it, each argument NUL-terminated;
// a truncated last argument has no NUL and is kept as it is.
func splitArgs(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil
	}
	parts := bytes.Split(b, []byte{0})
	args := make([]string, len(parts))
	for i, p := range parts {
		args[i] = string(p)
	}
	return args
}
