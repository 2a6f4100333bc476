package convert

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The fixed times of the golden files: boot at 2026-01-01T00:00:00Z, the
// records observed a minute later.
const (
	bootEpoch = 1_767_225_600_000_000_000
	observed  = pcommon.Timestamp(bootEpoch + 60_000_000_000)
)

// catReads is an ordinary access: cat reading /etc/passwd through the LSM hook.
var catReads = record.Record{
	BootNs:     5_000_000_123,
	CgroupID:   4242,
	Mask:       4,
	Inode:      1_310_730,
	Mode:       0o100644,
	PID:        1200,
	TID:        1200,
	PPID:       1100,
	UID:        1000,
	EUID:       1000,
	GID:        1000,
	EGID:       1000,
	Op:         record.OpRead,
	Hook:       record.HookFilePermission,
	Path:       "/etc/passwd",
	Executable: "/usr/bin/cat",
	Comm:       "cat",
}

// convertCases are the records of the golden files, each a variation on catReads.
var convertCases = []struct {
	name string
	edit func(r *record.Record)
}{
	{name: "read_reports_mask", edit: func(*record.Record) {}},
	{name: "write_denied_reports_errno", edit: func(r *record.Record) {
		r.Op, r.Mask, r.Return = record.OpWrite, 2, -13
		r.Path, r.Mode, r.TID = "/etc/shadow", 0o100640, 1201
		r.Executable, r.Comm = "/usr/bin/vi", "vi"
	}},
	{name: "mmap_reports_prot_and_flags", edit: func(r *record.Record) {
		r.Op, r.Hook, r.Mask = record.OpMmap, record.HookMmapFile, 0
		r.Prot, r.MmapFlags = 0x1|0x4, 0x2
		r.Path = "/usr/lib/x86_64-linux-gnu/libc.so.6"
	}},
	{name: "truncate_in_tracepoint_mode_names_syscall", edit: func(r *record.Record) {
		// truncate(2) names a path: the tracepoint mode has no inode for it.
		r.Op, r.Hook, r.Syscall, r.Mask = record.OpTruncate, record.HookSysExit, 76, 0
		r.Inode, r.Mode = 0, 0
		r.Path, r.Executable, r.Comm = "/var/log/app.log", "/usr/bin/truncate", "truncate"
	}},
	{name: "read_in_tracepoint_mode_returns_bytes", edit: func(r *record.Record) {
		r.Hook, r.Syscall, r.Return = record.HookSysExit, 17, 1221
	}},
	{name: "truncated_paths_drop_base_names", edit: func(r *record.Record) {
		r.Path, r.PathTruncated = "/srv/data/very/deep", true
		r.Executable, r.ExecutableTruncated = "/opt/tools/long", true
		r.Comm = "indexer"
	}},
	{name: "kernel_thread_is_named_by_comm", edit: func(r *record.Record) {
		r.Executable, r.Comm = "", "loop0"
		r.PID, r.TID, r.PPID, r.UID, r.EUID, r.GID, r.EGID = 812, 812, 2, 0, 0, 0, 0
		r.Path, r.Mode, r.CgroupID = "/var/lib/images/disk.img", 0o100600, 1
	}},
	{name: "setuid_bits_in_mode", edit: func(r *record.Record) {
		r.Path, r.Mode = "/usr/bin/passwd", 0o104755
		r.Executable, r.Comm = "/usr/bin/ls", "ls"
	}},
}

func TestAppendRecord(t *testing.T) {
	for _, tt := range convertCases {
		t.Run(tt.name, func(t *testing.T) {
			r := catReads
			tt.edit(&r)

			logs, records := NewLogs("node-1", "scope", "v")
			AppendRecord(records, &r, ProcessContext{}, ClockAt(bootEpoch), observed)

			checkGolden(t, tt.name, logs)
			if got, want := records.At(0).Attributes().Len(), attributeCount(&r, textOf(&r)); got != want {
				t.Errorf("put %d attributes, attributeCount said %d", got, want)
			}
		})
	}
}

func TestAppendRecordAppendsToTheSameScope(t *testing.T) {
	logs, records := NewLogs("node-1", "scope", "v")
	for range 3 {
		AppendRecord(records, &catReads, ProcessContext{}, ClockAt(bootEpoch), observed)
	}
	if logs.LogRecordCount() != 3 || logs.ResourceLogs().At(0).ScopeLogs().Len() != 1 {
		t.Fatalf("got %d records in %d scopes, want 3 in 1",
			logs.LogRecordCount(), logs.ResourceLogs().At(0).ScopeLogs().Len())
	}
}

func checkGolden(t *testing.T, name string, logs plog.Logs) {
	t.Helper()
	compact, err := (&plog.JSONMarshaler{}).MarshalLogs(logs)
	if err != nil {
		t.Fatalf("marshaling: %v", err)
	}
	var got bytes.Buffer
	if err := json.Indent(&got, compact, "", "\t"); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')

	golden := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("logs differ from %s\n got: %s\nwant: %s", golden, got.Bytes(), want)
	}
}

func TestPermissions(t *testing.T) {
	tests := []struct {
		mode uint32
		want string
	}{
		{mode: 0, want: "0000"},
		{mode: 0o100644, want: "0644"},
		{mode: 0o040755, want: "0755"},
		{mode: 0o104755, want: "4755"},
		{mode: 0o101777, want: "1777"},
	}
	for _, tt := range tests {
		if got := permissions(tt.mode); got != tt.want {
			t.Errorf("permissions(%#o) = %q, want %q", tt.mode, got, tt.want)
		}
	}
}

func TestAttributesAreValidUTF8(t *testing.T) {
	r := record.Record{
		Op:         record.OpRead,
		Hook:       record.HookFilePermission,
		Path:       "/etc/bad\xffname\\x",
		Executable: "/usr/bin/\xfe",
		Comm:       "c\xff",
	}
	logs, records := NewLogs("node-1", "scope", "v")
	AppendRecord(records, &r, ProcessContext{}, ClockAt(0), 0)
	attrs := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	for _, key := range []string{"file.path", "file.name", "process.executable.path", "process.executable.name", "thread.name"} {
		v, ok := attrs.Get(key)
		require.True(t, ok, key)
		assert.True(t, utf8.ValidString(v.Str()), "%s = %q", key, v.Str())
	}
	path, _ := attrs.Get("file.path")
	assert.Equal(t, `/etc/bad\xffname\\x`, path.Str())
	assert.Equal(t, r.Path, unescape(t, path.Str()))
	// The name comes from the escaped path, so it reads back as the path does.
	r.Executable = "/opt/\xff/h\\xff"
	_, records = NewLogs("node-1", "scope", "v")
	AppendRecord(records, &r, ProcessContext{}, ClockAt(0), 0)
	name, _ := records.At(0).Attributes().Get("process.executable.name")
	assert.Equal(t, `h\\xff`, name.Str())
	for _, key := range []string{"file_access.path.escaped", "file_access.executable.escaped"} {
		v, ok := attrs.Get(key)
		assert.True(t, ok && v.Bool(), key)
	}
}

func TestValidUTF8IsReversible(t *testing.T) {
	for _, s := range []string{
		"", "/etc/passwd", "/tmp/résumé 日本", `/a\b`, "\xff", "\xff\\", `\x41\xff`,
		"/tmp/\xc3", "/tmp/\xed\xa0\x80", "tab\tnew\nline\x1b[0m", "\x00",
	} {
		got, escaped := validUTF8(s)
		assert.True(t, utf8.ValidString(got), "%q -> %q", s, got)
		assert.Equal(t, !utf8.ValidString(s), escaped, "%q", s)
		if !escaped {
			assert.Equal(t, s, got, "valid UTF-8 is kept byte for byte")
			continue
		}
		assert.Equal(t, s, unescape(t, got), "%q -> %q", s, got)
	}
}

// unescape undoes validUTF8's escaping, as a user of the attributes would.
func unescape(t *testing.T, s string) string {
	t.Helper()
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		require.Less(t, i+1, len(s), "a lone backslash ends %q", s)
		if s[i+1] == '\\' {
			b = append(b, '\\')
			i++
			continue
		}
		require.Less(t, i+3, len(s), "a short escape in %q", s)
		require.Equal(t, byte('x'), s[i+1], "an unknown escape in %q", s)
		v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
		require.NoError(t, err)
		b = append(b, byte(v))
		i += 3
	}
	return string(b)
}
