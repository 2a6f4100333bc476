package convert

import (
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/process"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

// Process attributes from the semantic conventions, and ours where they have none.
const (
	attrCommandArgs      = string(semconv.ProcessCommandArgsKey)
	attrWorkingDirectory = string(semconv.ProcessWorkingDirectoryKey)
	attrCreationTime     = string(semconv.ProcessCreationTimeKey)
	attrVPID             = string(semconv.ProcessVpidKey)
	attrExitCode         = string(semconv.ProcessExitCodeKey)
	attrExitTime         = string(semconv.ProcessExitTimeKey)

	attrExecID               = "file_access.process.exec_id"
	attrParentExecID         = "file_access.process.parent_exec_id"
	attrParentExecutablePath = "file_access.process.parent.executable.path"
	attrArgsTruncated        = "file_access.process.command_args.truncated"
	attrLoginUserID          = "file_access.process.login_user.id"
	attrOrigin               = "file_access.process.origin"
	attrExitSignal           = "file_access.process.exit.signal"
)

// ProcessContext is what the process table knows of the process behind a
// record; a nil Process adds nothing.
type ProcessContext struct {
	Process *process.Info
	Parent  *process.Info
	// IncludeCommandArgs puts process.command_args on records; off for users
	// who must not collect arguments, which can carry secrets.
	IncludeCommandArgs bool
	// Where is the namespace/pod the process runs in, written after the
	// operation in bodies; empty off Kubernetes or while the pod is unknown.
	Where string
}

func (pc ProcessContext) attributeCount() int {
	if pc.Process == nil {
		return 0
	}
	return 10
}

func (pc ProcessContext) putAttributes(attrs pcommon.Map, clock Clock) {
	p := pc.Process
	if p == nil {
		return
	}
	attrs.PutStr(attrExecID, p.ExecID)
	if p.ParentExecID != "" {
		attrs.PutStr(attrParentExecID, p.ParentExecID)
	}
	if pc.Parent != nil && pc.Parent.Executable != "" {
		putText(attrs, attrParentExecutablePath, pc.Parent.Executable)
	}
	if pc.IncludeCommandArgs && len(p.Args) > 0 {
		args := attrs.PutEmptySlice(attrCommandArgs)
		args.EnsureCapacity(len(p.Args))
		for _, a := range p.Args {
			v, _ := validUTF8(a)
			args.AppendEmpty().SetStr(v)
		}
		if p.ArgsTruncated {
			attrs.PutBool(attrArgsTruncated, true)
		}
	}
	if p.Cwd != "" {
		putText(attrs, attrWorkingDirectory, p.Cwd)
	}
	if p.StartNs != 0 {
		attrs.PutStr(attrCreationTime, clock.Timestamp(p.StartNs).AsTime().Format(time.RFC3339Nano))
	}
	if p.NsPID != 0 {
		attrs.PutInt(attrVPID, int64(p.NsPID))
	}
	if p.AUID != unsetLoginUID {
		attrs.PutInt(attrLoginUserID, int64(p.AUID))
	}
	attrs.PutStr(attrOrigin, p.Origin.String())
}

// unsetLoginUID is the login uid of a process no login session started.
const unsetLoginUID = 4294967295

// AppendProcessEvent appends the record of an exec or an exit: event name
// file_access.process.exec or file_access.process.exit. Clones make no record
// of their own; they show as the exec ids and parents of later records.
func AppendProcessEvent(
	records plog.LogRecordSlice,
	kind record.Kind,
	e *process.Event,
	pc ProcessContext,
	clock Clock,
	observed pcommon.Timestamp,
) {
	lr := records.AppendEmpty()
	lr.SetTimestamp(clock.Timestamp(e.EventNs))
	lr.SetObservedTimestamp(observed)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	attrs := lr.Attributes()
	attrs.EnsureCapacity(14 + pc.attributeCount())

	p := pc.Process
	exe := e.Executable
	if p != nil && exe == "" {
		exe = p.Executable
	}
	attrs.PutInt(attrProcessPID, int64(e.PID))
	attrs.PutInt(attrProcessParentPID, int64(e.PPID))
	if exe != "" {
		escaped, wasEscaped := validUTF8(exe)
		attrs.PutStr(attrExecutablePath, escaped)
		attrs.PutStr(attrExecutableName, lastComponent(escaped))
		putFlag(attrs, attrExecutableEscaped, wasEscaped)
		putFlag(attrs, attrExecutableDeleted, e.ExecutableDeleted && exe == e.Executable)
	}
	attrs.PutInt(attrProcessUserID, int64(e.EUID))
	attrs.PutInt(attrProcessRealUserID, int64(e.UID))
	attrs.PutInt(attrCgroupID, int64(e.CgroupID))
	pc.putAttributes(attrs, clock)

	switch kind {
	case record.KindExit:
		lr.SetEventName("file_access.process.exit")
		code, signal := exitStatus(e.ExitCode)
		if signal != 0 {
			attrs.PutInt(attrExitSignal, int64(signal))
		} else {
			attrs.PutInt(attrExitCode, int64(code))
		}
		attrs.PutStr(attrExitTime, clock.Timestamp(e.EventNs).AsTime().Format(time.RFC3339Nano))
		lr.Body().SetStr(exitBody(exe, p, pc, code, signal))
	default:
		lr.SetEventName("file_access.process.exec")
		lr.Body().SetStr(execBody(exe, p, pc))
	}
}

// exitStatus splits a wait(2) status into the exit code and the signal that
// ended the process, one of them zero.
func exitStatus(status int32) (code, signal int32) {
	if sig := status & 0x7f; sig != 0 {
		return 0, sig
	}
	return (status >> 8) & 0xff, 0
}

func lastComponent(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 && i < len(path)-1 {
		return path[i+1:]
	}
	return path
}
