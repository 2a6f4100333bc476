package convert

import (
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/container"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

// Attributes from the semantic conventions.
const (
	attrHostName          = string(semconv.HostNameKey)
	attrFilePath          = string(semconv.FilePathKey)
	attrFileName          = string(semconv.FileNameKey)
	attrFileInode         = string(semconv.FileInodeKey)
	attrFileMode          = string(semconv.FileModeKey)
	attrProcessPID        = string(semconv.ProcessPIDKey)
	attrProcessParentPID  = string(semconv.ProcessParentPIDKey)
	attrExecutablePath    = string(semconv.ProcessExecutablePathKey)
	attrExecutableName    = string(semconv.ProcessExecutableNameKey)
	attrProcessUserID     = string(semconv.ProcessUserIDKey)
	attrProcessRealUserID = string(semconv.ProcessRealUserIDKey)
	attrThreadID          = string(semconv.ThreadIDKey)
	attrThreadName        = string(semconv.ThreadNameKey)
	attrContainerID       = string(semconv.ContainerIDKey)
	attrContainerRuntime  = string(semconv.ContainerRuntimeNameKey)
)

// Attributes the semantic conventions have no name for. The conventions name
// the effective and real user of a process but no group, so the groups are
// here too.
const (
	attrOperation           = "file_access.operation"
	attrHook                = "file_access.hook"
	attrSyscall             = "file_access.syscall"
	attrReturnValue         = "file_access.return_value"
	attrMask                = "file_access.mask"
	attrMmapProt            = "file_access.mmap.prot"
	attrMmapFlags           = "file_access.mmap.flags"
	attrPathTruncated       = "file_access.path.truncated"
	attrExecutableTruncated = "file_access.executable.truncated"
	attrPathDeleted         = "file_access.path.deleted"
	attrPathEscaped         = "file_access.path.escaped"
	attrExecutableDeleted   = "file_access.executable.deleted"
	attrExecutableEscaped   = "file_access.executable.escaped"
	attrCgroupID            = "file_access.cgroup.id"
	attrCount               = "file_access.count"
	attrProcessGroupID      = "file_access.process.group.id"
	attrProcessRealGroupID  = "file_access.process.real_group.id"
)

// alwaysPut is how many attributes every record carries; attributeCount adds
// the ones that depend on the record.
const alwaysPut = 15

// NewLogs returns logs with one ResourceLogs carrying host.name and one
// ScopeLogs (scope name and version given), and the record slice to append to.
func NewLogs(hostName, scopeName, scopeVersion string) (plog.Logs, plog.LogRecordSlice) {
	logs := plog.NewLogs()
	_, records := AppendResource(logs, hostName, scopeName, scopeVersion)
	return logs, records
}

// AppendResource adds a ResourceLogs carrying host.name, with one ScopeLogs,
// to logs; it returns the resource's attributes, for the caller to add who
// the records belong to, and the record slice to append to.
func AppendResource(logs plog.Logs, hostName, scopeName, scopeVersion string) (pcommon.Map, plog.LogRecordSlice) {
	rl := logs.ResourceLogs().AppendEmpty()
	rl.SetSchemaUrl(semconv.SchemaURL)
	rl.Resource().Attributes().PutStr(attrHostName, hostName)

	sl := rl.ScopeLogs().AppendEmpty()
	sl.SetSchemaUrl(semconv.SchemaURL)
	sl.Scope().SetName(scopeName)
	sl.Scope().SetVersion(scopeVersion)
	return rl.Resource().Attributes(), sl.LogRecords()
}

// PutContainer adds a container's id and, when its cgroup names it, its
// runtime to resource attributes.
func PutContainer(attrs pcommon.Map, c container.ID) {
	attrs.PutStr(attrContainerID, c.ID)
	if c.Runtime != container.RuntimeUnknown {
		attrs.PutStr(attrContainerRuntime, c.Runtime)
	}
}

// AppendRecord appends the log record of one access, with what the process
// table knows of the process that made it.
func AppendRecord(
	records plog.LogRecordSlice,
	r *record.Record,
	pc ProcessContext,
	clock Clock,
	observed pcommon.Timestamp,
) {
	lr := records.AppendEmpty()
	lr.SetEventName(eventName(r.Op))
	lr.SetTimestamp(clock.Timestamp(r.BootNs))
	lr.SetObservedTimestamp(observed)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	lr.Body().SetStr(Body(r, pc.Where))
	attrs := lr.Attributes()
	t := textOf(r)
	attrs.EnsureCapacity(attributeCount(r, t) + pc.attributeCount())
	putAttributes(attrs, r, t)
	pc.putAttributes(attrs, clock)
}

// PutCount puts on each record how many accesses it stands for, with dedup.
func PutCount(records plog.LogRecordSlice, n uint64) {
	for _, lr := range records.All() {
		lr.Attributes().PutInt(attrCount, int64(n))
	}
}

// eventName spells out the known names so that no record pays for a concatenation.
func eventName(op record.Op) string {
	switch op {
	case record.OpRead:
		return "file_access.read"
	case record.OpWrite:
		return "file_access.write"
	case record.OpMmap:
		return "file_access.mmap"
	case record.OpTruncate:
		return "file_access.truncate"
	}
	return "file_access." + op.String()
}

// recordText is a record's path and executable as attributes carry them, and
// whether validUTF8 escaped them.
type recordText struct {
	path, executable               string
	pathEscaped, executableEscaped bool
}

func textOf(r *record.Record) recordText {
	var t recordText
	t.path, t.pathEscaped = validUTF8(r.Path)
	t.executable, t.executableEscaped = validUTF8(r.Executable)
	return t
}

func putAttributes(attrs pcommon.Map, r *record.Record, t recordText) {
	// A truncated path keeps its leading components, so its last one names a
	// directory, not the file. Escaping adds no '/', so the base name of the
	// escaped path is the escaped base name.
	attrs.PutStr(attrFilePath, t.path)
	if !r.PathTruncated {
		attrs.PutStr(attrFileName, path.Base(t.path))
	}
	// The tracepoint mode's truncate(2) names a path, not an open file, and
	// reports inode 0: no file has it, so it says nothing.
	if r.Inode != 0 {
		attrs.PutStr(attrFileInode, strconv.FormatUint(r.Inode, 10))
		attrs.PutStr(attrFileMode, permissions(r.Mode))
	}

	attrs.PutInt(attrProcessPID, int64(r.PID))
	attrs.PutInt(attrProcessParentPID, int64(r.PPID))
	if r.Executable != "" {
		attrs.PutStr(attrExecutablePath, t.executable)
	}
	putText(attrs, attrExecutableName, executableName(r, t.executable))
	attrs.PutInt(attrProcessUserID, int64(r.EUID))
	attrs.PutInt(attrProcessRealUserID, int64(r.UID))
	attrs.PutInt(attrProcessGroupID, int64(r.EGID))
	attrs.PutInt(attrProcessRealGroupID, int64(r.GID))
	attrs.PutInt(attrThreadID, int64(r.TID))
	putText(attrs, attrThreadName, r.Comm)

	attrs.PutStr(attrOperation, r.Op.String())
	attrs.PutStr(attrHook, r.Hook.String())
	if name := r.SyscallName(); name != "" {
		attrs.PutStr(attrSyscall, name)
	}
	attrs.PutInt(attrReturnValue, r.Return)
	switch r.Op {
	case record.OpRead, record.OpWrite:
		attrs.PutInt(attrMask, int64(r.Mask))
	case record.OpMmap:
		attrs.PutInt(attrMmapProt, int64(r.Prot))
		attrs.PutInt(attrMmapFlags, int64(r.MmapFlags))
	}
	attrs.PutBool(attrPathTruncated, r.PathTruncated)
	putFlag(attrs, attrPathDeleted, r.PathDeleted)
	putFlag(attrs, attrPathEscaped, t.pathEscaped)
	putFlag(attrs, attrExecutableTruncated, r.ExecutableTruncated)
	putFlag(attrs, attrExecutableDeleted, r.ExecutableDeleted)
	putFlag(attrs, attrExecutableEscaped, t.executableEscaped)
	attrs.PutInt(attrCgroupID, int64(r.CgroupID))
}

// attributeCount is how many attributes putAttributes puts for r.
func attributeCount(r *record.Record, t recordText) int {
	n := alwaysPut
	if !r.PathTruncated {
		n++
	}
	if r.Inode != 0 {
		n += 2
	}
	if r.Executable != "" {
		n++
	}
	if r.SyscallName() != "" {
		n++
	}
	switch r.Op {
	case record.OpRead, record.OpWrite:
		n++
	case record.OpMmap:
		n += 2
	}
	for _, flag := range [...]bool{r.PathDeleted, t.pathEscaped, r.ExecutableTruncated, r.ExecutableDeleted, t.executableEscaped} {
		if flag {
			n++
		}
	}
	return n
}

// putFlag puts a flag that is present only when true.
func putFlag(attrs pcommon.Map, key string, set bool) {
	if set {
		attrs.PutBool(key, true)
	}
}

// executableName is the executable's base name. A kernel thread has no
// executable and a truncated path ends in a directory; for both the thread's
// name stands in, which exec sets to the executable's base name.
// escaped is the executable as the attributes carry it; its base name is
// taken from it, so that the name reads back as the path does.
func executableName(r *record.Record, escaped string) string {
	if r.Executable == "" || r.ExecutableTruncated {
		return r.Comm
	}
	return path.Base(escaped)
}

// permissions formats the permission bits of a mode (setuid, setgid and sticky
// included) as four octal digits, "0644".
func permissions(mode uint32) string {
	const digits = 4
	var b [digits]byte
	bits := mode & 0o7777
	for i := digits - 1; i >= 0; i-- {
		b[i] = '0' + byte(bits&7)
		bits >>= 3
	}
	return string(b[:])
}

// validUTF8 returns s as OTLP can carry it, UTF-8, and whether it had to
// change it. A valid string is returned as it is, byte for byte. In one that
// is not, each byte that is not part of a valid character is written \xHH and
// each backslash doubled, so the bytes can be recovered exactly:
// "caf\xe9\\x" stands for the bytes "caf", 0xe9, "\x".
func validUTF8(s string) (string, bool) {
	if utf8.ValidString(s) {
		return s, false
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		case r == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String(), true
}

// putText puts a string attribute, escaped as validUTF8 does, and returns
// whether it was escaped.
func putText(attrs pcommon.Map, key, s string) bool {
	v, escaped := validUTF8(s)
	attrs.PutStr(key, v)
	return escaped
}
