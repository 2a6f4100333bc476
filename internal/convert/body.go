package convert

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/process"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

// opWidth is the width the operation is padded to: that of "truncate", the longest.
const opWidth = 8

// Body returns the one-line summary of an access: an emoji and the operation
// padded to a fixed width, the binary, the file, for an mmap the protection in
// ls letters, and for a failed access the errno:
//
//	📚 read     /usr/bin/cat /etc/passwd
//	🗺 mmap     /usr/bin/cat /etc/ld.so.cache r--
//	📝 write    /usr/bin/vi /etc/shadow = -13
//	📚 read     [loop0] /var/lib/images/disk.img
//
// The binary is the executable's path, or the thread's name in brackets for a
// kernel thread, which has no executable. A truncated path ends in "…", and a
// file deleted while open is followed by " (deleted)", as /proc shows it. A path
// or name with a space, a quote, a control character or invalid UTF-8 is
// printed Go-quoted, so that the line stays one line and splits on spaces.
//
// where, the namespace/pod, goes after the operation when it is known:
//
//	📚 read     default/xwing /usr/bin/cat /etc/passwd
func Body(r *record.Record, where string) string {
	var b strings.Builder
	b.Grow(len(r.Executable) + len(r.Path) + len(r.Comm) + len(where) + 40)

	writeLabel(&b, opLabel(r.Op), where)
	if r.Executable != "" {
		writeField(&b, r.Executable, r.ExecutableTruncated)
	} else {
		b.WriteByte('[')
		writeField(&b, r.Comm, false)
		b.WriteByte(']')
	}
	b.WriteByte(' ')
	writeField(&b, r.Path, r.PathTruncated)
	if r.PathDeleted {
		b.WriteString(" (deleted)")
	}
	if r.Op == record.OpMmap {
		b.WriteByte(' ')
		writeProt(&b, r.Prot)
	}
	if r.Return < 0 {
		var num [20]byte
		b.WriteString(" = ")
		b.Write(strconv.AppendInt(num[:0], r.Return, 10))
	}
	return b.String()
}

// writeLabel writes an operation's label and, when known, where the process runs.
func writeLabel(b *strings.Builder, label, where string) {
	b.WriteString(label)
	if where != "" {
		b.WriteString(where)
		b.WriteByte(' ')
	}
}

// PutPodInBodies puts where (namespace/pod) after the operation in the
// bodies of records[first:], which Body, execBody and exitBody wrote before
// the pod was known, as Body does when it is:
//
//	📚 read     default/xwing /usr/bin/cat /etc/passwd
func PutPodInBodies(records plog.LogRecordSlice, first int, where string) {
	for i := first; i < records.Len(); i++ {
		body := records.At(i).Body()
		s := body.Str()
		end := labelEnd(s)
		body.SetStr(s[:end] + where + " " + s[end:])
	}
}

// labelEnd returns where the label (the emoji, a space, the operation
// padded to opWidth, a space) of a body ends.
func labelEnd(body string) int {
	emoji := strings.IndexByte(body, ' ')
	if emoji < 0 {
		return len(body)
	}
	return min(emoji+1+opWidth+1, len(body))
}

// opLabel returns the emoji, the padded operation and the space after it.
func opLabel(op record.Op) string {
	switch op {
	case record.OpRead:
		return "📚 read     "
	case record.OpWrite:
		return "📝 write    "
	case record.OpMmap:
		return "🗺 mmap     "
	case record.OpTruncate:
		return "✂ truncate "
	}
	name := op.String()
	return "❓ " + name + strings.Repeat(" ", max(opWidth-len(name), 0)+1)
}

func writeField(b *strings.Builder, s string, truncated bool) {
	if plain(s) {
		b.WriteString(s)
	} else {
		b.WriteString(strconv.Quote(s))
	}
	if truncated {
		b.WriteString("…")
	}
}

// plain reports whether s can be printed as it is: printable (as strconv.Quote
// sees it), without spaces or quotes. Paths are almost always ASCII, so the
// byte loop comes first.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return plainUnicode(s[i:])
		}
		if c <= ' ' || c == '"' || c == 0x7f {
			return false
		}
	}
	return true
}

func plainUnicode(s string) bool {
	for len(s) > 0 {
		c, size := utf8.DecodeRuneInString(s)
		if c == utf8.RuneError && size == 1 {
			return false
		}
		if c == ' ' || c == '"' || !strconv.IsPrint(c) {
			return false
		}
		s = s[size:]
	}
	return true
}

// writeProt writes an mmap protection as ls does, "r-x". Bits beyond PROT_EXEC
// (PROT_SEM, PROT_GROWSDOWN and the like) are not shown.
func writeProt(b *strings.Builder, prot uint32) {
	const (
		protRead  = 0x1
		protWrite = 0x2
		protExec  = 0x4
	)
	letter := func(bit uint32, c byte) byte {
		if prot&bit != 0 {
			return c
		}
		return '-'
	}
	b.WriteByte(letter(protRead, 'r'))
	b.WriteByte(letter(protWrite, 'w'))
	b.WriteByte(letter(protExec, 'x'))
}

// execBody summarizes an exec: the binary and, unless arguments are left out,
// the arguments after argv[0].
//
//	🚀 process  /usr/bin/vi /etc/passwd
func execBody(exe string, p *process.Info, pc ProcessContext) string {
	var b strings.Builder
	writeLabel(&b, "🚀 process  ", pc.Where)
	writeProcess(&b, exe, p, pc.IncludeCommandArgs)
	return b.String()
}

// exitBody summarizes an exit like an exec, followed by the exit code or the
// signal that ended the process.
//
//	💥 exit     /usr/bin/vi /etc/passwd 0
//	💥 exit     /usr/bin/sleep 100 SIG9
func exitBody(exe string, p *process.Info, pc ProcessContext, code, signal int32) string {
	var b strings.Builder
	writeLabel(&b, "💥 exit     ", pc.Where)
	writeProcess(&b, exe, p, pc.IncludeCommandArgs)
	b.WriteByte(' ')
	if signal != 0 {
		b.WriteString("SIG")
		b.WriteString(strconv.Itoa(int(signal)))
	} else {
		b.WriteString(strconv.Itoa(int(code)))
	}
	return b.String()
}

func writeProcess(b *strings.Builder, exe string, p *process.Info, withArgs bool) {
	if exe == "" {
		exe = "?"
	}
	writeField(b, exe, p != nil && p.ExecutableTruncated)
	if !withArgs || p == nil || len(p.Args) < 2 {
		return
	}
	for _, a := range p.Args[1:] {
		b.WriteByte(' ')
		writeField(b, a, false)
	}
	if p.ArgsTruncated {
		b.WriteString("…")
	}
}
