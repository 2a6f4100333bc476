package convert

import (
	"slices"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

func TestBody(t *testing.T) {
	tests := []struct {
		name string
		r    record.Record
		want string
	}{
		{
			name: "read",
			r:    record.Record{Op: record.OpRead, Executable: "/usr/bin/cat", Path: "/etc/passwd"},
			want: "📚 read     /usr/bin/cat /etc/passwd",
		},
		{
			name: "write",
			r:    record.Record{Op: record.OpWrite, Executable: "/usr/bin/vi", Path: "/etc/passwd"},
			want: "📝 write    /usr/bin/vi /etc/passwd",
		},
		{
			name: "mmap_shows_protection",
			r: record.Record{
				Op: record.OpMmap, Prot: 0x1, Executable: "/usr/bin/cat", Path: "/etc/ld.so.cache",
			},
			want: "🗺 mmap     /usr/bin/cat /etc/ld.so.cache r--",
		},
		{
			name: "mmap_hides_bits_beyond_exec",
			r: record.Record{
				Op: record.OpMmap, Prot: 0x1 | 0x2 | 0x4 | 0x01000000,
				Executable: "/usr/bin/java", Path: "/tmp/jit.so",
			},
			want: "🗺 mmap     /usr/bin/java /tmp/jit.so rwx",
		},
		{
			name: "truncate",
			r:    record.Record{Op: record.OpTruncate, Executable: "/usr/bin/vi", Path: "/etc/passwd"},
			want: "✂ truncate /usr/bin/vi /etc/passwd",
		},
		{
			name: "failure_ends_with_errno",
			r: record.Record{
				Op: record.OpWrite, Return: -13, Executable: "/usr/bin/vi", Path: "/etc/shadow",
			},
			want: "📝 write    /usr/bin/vi /etc/shadow = -13",
		},
		{
			name: "failed_mmap_puts_errno_after_protection",
			r: record.Record{
				Op: record.OpMmap, Prot: 0x4, Return: -1, Executable: "/usr/bin/app", Path: "/mnt/noexec/lib.so",
			},
			want: "🗺 mmap     /usr/bin/app /mnt/noexec/lib.so --x = -1",
		},
		{
			name: "byte_count_is_not_a_failure",
			r: record.Record{
				Op: record.OpRead, Hook: record.HookSysExit, Return: 1221,
				Executable: "/usr/bin/cat", Path: "/etc/passwd",
			},
			want: "📚 read     /usr/bin/cat /etc/passwd",
		},
		{
			name: "kernel_thread_shows_comm_in_brackets",
			r:    record.Record{Op: record.OpRead, Comm: "loop0", Path: "/var/lib/images/disk.img"},
			want: "📚 read     [loop0] /var/lib/images/disk.img",
		},
		{
			name: "truncated_paths_end_in_ellipsis",
			r: record.Record{
				Op: record.OpRead, Executable: "/opt/a", ExecutableTruncated: true,
				Path: "/srv/data", PathTruncated: true,
			},
			want: "📚 read     /opt/a… /srv/data…",
		},
		{
			name: "spaces_and_newlines_are_quoted",
			r: record.Record{
				Op: record.OpWrite, Executable: "/opt/My App/app", Path: "/tmp/a\nb",
			},
			want: `📝 write    "/opt/My App/app" "/tmp/a\nb"`,
		},
		{
			name: "printable_unicode_is_kept",
			r:    record.Record{Op: record.OpRead, Executable: "/usr/bin/cat", Path: "/home/zoë/日記.txt"},
			want: "📚 read     /usr/bin/cat /home/zoë/日記.txt",
		},
		{
			name: "invalid_utf8_is_quoted",
			r:    record.Record{Op: record.OpRead, Executable: "/usr/bin/cat", Path: "/tmp/\xff"},
			want: `📚 read     /usr/bin/cat "/tmp/\xff"`,
		},
		{
			name: "unknown_operation_keeps_the_columns",
			r:    record.Record{Op: 9, Executable: "/usr/bin/cat", Path: "/etc/passwd"},
			want: "❓ op(9)    /usr/bin/cat /etc/passwd",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Body(&tt.r, ""); got != tt.want {
				t.Errorf("Body() = %q\n          want %q", got, tt.want)
			}
		})
	}
}

func TestPutPodInBodies(t *testing.T) {
	records := plog.NewLogRecordSlice()
	for _, body := range []string{
		"🚀 process  /usr/bin/vi /etc/passwd", // before first: left alone
		"📚 read     /usr/bin/vi /etc/passwd",
		"✂ truncate /usr/bin/vi /etc/passwd",
		"💥 exit     /usr/bin/vi /etc/passwd 0",
	} {
		records.AppendEmpty().Body().SetStr(body)
	}
	PutPodInBodies(records, 1, "default/xwing")

	var got []string
	for _, lr := range records.All() {
		got = append(got, lr.Body().Str())
	}
	want := []string{
		"🚀 process  /usr/bin/vi /etc/passwd",
		"📚 read     default/xwing /usr/bin/vi /etc/passwd",
		"✂ truncate default/xwing /usr/bin/vi /etc/passwd",
		"💥 exit     default/xwing /usr/bin/vi /etc/passwd 0",
	}
	if !slices.Equal(want, got) {
		t.Errorf("bodies:\n got %q\nwant %q", got, want)
	}
}

// TestBodyWithPodIsWhatPutPodInBodiesWrites: a record whose pod is known
// when it is made reads as one that got its pod later.
func TestBodyWithPodIsWhatPutPodInBodiesWrites(t *testing.T) {
	r := record.Record{Op: record.OpRead, Executable: "/usr/bin/cat", Path: "/etc/passwd"}
	records := plog.NewLogRecordSlice()
	records.AppendEmpty().Body().SetStr(Body(&r, ""))
	PutPodInBodies(records, 0, "default/xwing")
	want := "📚 read     default/xwing /usr/bin/cat /etc/passwd"
	if got := Body(&r, "default/xwing"); got != want || records.At(0).Body().Str() != want {
		t.Errorf("Body = %q, later insertion = %q, want %q", got, records.At(0).Body().Str(), want)
	}
}
