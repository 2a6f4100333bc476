package record_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// kernelSample is a ring buffer sample as the kernel wrote it: cat reading
// /etc/passwd, captured in the tracepoint mode on Linux 6.18. It checks Decode
// against bytes the encoder below did not produce, and the encoder against the
// kernel.
const kernelSample = "testdata/kernel_read_etc_passwd.bin"

// kernelHeader is the header of kernelSample, field by field.
var kernelHeader = probe.FileaccessRecord{
	Kind:      uint32(probe.FileaccessRecordKindKIND_FILE),
	Auid:      0xffffffff,
	BootNs:    0x43f55d01677,
	ExecNs:    0x43f55c006ed,
	CgroupId:  1,
	Ret:       1221,
	Arg:       4,
	Ino:       737,
	Pid:       12845,
	Tid:       12845,
	Ppid:      12839,
	Mode:      0o100644,
	Op:        uint16(probe.FileaccessOpOP_READ),
	Hook:      uint16(probe.FileaccessHookHOOK_SYS_EXIT),
	SyscallNr: 0,
	Comm:      comm("cat"),
	KeyBits:   uint32(len("/etc/passwd/") * 8),
}

// encode returns the sample the kernel writes for a header, a path and an
// executable path: the header in the host's (little endian) layout, then the
// two paths without terminators. It sets the header's lengths.
func encode(t testing.TB, h probe.FileaccessRecord, path, exe string) []byte {
	t.Helper()
	h.Kind = uint32(probe.FileaccessRecordKindKIND_FILE)
	h.PathLen = uint16(len(path))
	h.ExeLen = uint16(len(exe))
	b, err := binary.Append(nil, binary.LittleEndian, &h)
	if err != nil {
		t.Fatalf("encoding the header: %v", err)
	}
	b = append(b, path...)
	return append(b, exe...)
}

func comm(name string) [16]int8 {
	var c [16]int8
	for i := range min(len(name), len(c)-1) {
		c[i] = int8(name[i])
	}
	return c
}

// decoded is what a golden file holds: the record, and the names it gives its numbers.
type decoded struct {
	record.Record
	OpName      string
	HookName    string
	SyscallName string
}

func TestEncoderFollowsStructLayout(t *testing.T) {
	// binary.Append writes fields back to back; the struct must have no
	// padding for that to be the layout the kernel writes.
	got, want := binary.Size(probe.FileaccessRecord{}), int(unsafe.Sizeof(probe.FileaccessRecord{}))
	if got != want {
		t.Fatalf("the header encodes to %d bytes, the struct is %d", got, want)
	}
	sample, err := os.ReadFile(kernelSample)
	if err != nil {
		t.Fatal(err)
	}
	if encoded := encode(t, kernelHeader, "/etc/passwd", "/usr/bin/cat"); !bytes.Equal(encoded, sample) {
		t.Fatalf("encode differs from the kernel's sample\n got %x\nwant %x", encoded, sample)
	}
}

func TestDecodeKernelSample(t *testing.T) {
	sample, err := os.ReadFile(kernelSample)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "kernel_read_etc_passwd", sample)
}

func TestDecode(t *testing.T) {
	long := strings.Repeat("/deep", 64)
	tests := []struct {
		name   string
		header probe.FileaccessRecord
		path   string
		exe    string
	}{
		{
			name: "read_by_cat",
			header: probe.FileaccessRecord{
				BootNs: 5_000_000_123, CgroupId: 4242, Arg: 4, Ino: 1_310_730, Mode: 0o100644,
				Pid: 1200, Tid: 1200, Ppid: 1100, Uid: 1000, Euid: 1000, Gid: 1000, Egid: 1000,
				Op:   uint16(probe.FileaccessOpOP_READ),
				Hook: uint16(probe.FileaccessHookHOOK_FILE_PERMISSION),
				Comm: comm("cat"),
			},
			path: "/etc/passwd",
			exe:  "/usr/bin/cat",
		},
		{
			name: "mmap_keeps_prot_and_flags",
			header: probe.FileaccessRecord{
				BootNs: 6_000_000_000, CgroupId: 4242, Arg: 0x1, MmapFlags: 0x2, Ino: 1_311_000,
				Mode: 0o100644, Pid: 1200, Tid: 1200, Ppid: 1100, Uid: 1000, Euid: 1000,
				Gid: 1000, Egid: 1000,
				Op:   uint16(probe.FileaccessOpOP_MMAP),
				Hook: uint16(probe.FileaccessHookHOOK_MMAP_FILE),
				Comm: comm("cat"),
			},
			path: "/etc/ld.so.cache",
			exe:  "/usr/bin/cat",
		},
		{
			// truncate(2) names a path, so the tracepoint mode has no inode for it.
			name: "truncate_in_tracepoint_mode",
			header: probe.FileaccessRecord{
				BootNs: 7_000_000_000, CgroupId: 4242, Pid: 1300, Tid: 1300, Ppid: 1100,
				Op:        uint16(probe.FileaccessOpOP_TRUNCATE),
				Hook:      uint16(probe.FileaccessHookHOOK_SYS_EXIT),
				SyscallNr: 76,
				Comm:      comm("truncate"),
			},
			path: "/var/log/app.log",
			exe:  "/usr/bin/truncate",
		},
		{
			name: "write_denied",
			header: probe.FileaccessRecord{
				BootNs: 8_000_000_000, CgroupId: 4242, Ret: -13, Arg: 2, Ino: 1_310_999,
				Mode: 0o100640, Pid: 1400, Tid: 1401, Ppid: 1100, Uid: 1000, Euid: 1000,
				Gid: 1000, Egid: 1000,
				Op:   uint16(probe.FileaccessOpOP_WRITE),
				Hook: uint16(probe.FileaccessHookHOOK_FILE_PERMISSION),
				Comm: comm("vi"),
			},
			path: "/etc/shadow",
			exe:  "/usr/bin/vi",
		},
		{
			name: "path_truncated",
			header: probe.FileaccessRecord{
				BootNs: 9_000_000_000, CgroupId: 4242, Arg: 4, Ino: 99, Mode: 0o100600,
				Pid: 1500, Tid: 1500, Ppid: 1, Uid: 0, Euid: 0,
				Op:    uint16(probe.FileaccessOpOP_READ),
				Hook:  uint16(probe.FileaccessHookHOOK_FILE_PERMISSION),
				Flags: uint16(probe.FileaccessRecordFlagRECORD_PATH_TRUNCATED),
				Comm:  comm("find"),
			},
			path: long,
			exe:  "/usr/bin/find",
		},
		{
			name: "kernel_thread_without_executable",
			header: probe.FileaccessRecord{
				BootNs: 10_000_000_000, CgroupId: 1, Arg: 4, Ino: 524_289, Mode: 0o100600,
				Pid: 812, Tid: 812, Ppid: 2,
				Op:   uint16(probe.FileaccessOpOP_READ),
				Hook: uint16(probe.FileaccessHookHOOK_FILE_PERMISSION),
				Comm: comm("loop0"),
			},
			path: "/var/lib/images/disk.img",
		},
		{
			// The kernel cuts comm at 15 bytes and always terminates it.
			name: "comm_of_fifteen_bytes",
			header: probe.FileaccessRecord{
				BootNs: 11_000_000_000, CgroupId: 4242, Arg: 4, Ino: 77, Mode: 0o100644,
				Pid: 1600, Tid: 1601, Ppid: 1600, Uid: 1000, Euid: 1000, Gid: 1000, Egid: 1000,
				Op:   uint16(probe.FileaccessOpOP_READ),
				Hook: uint16(probe.FileaccessHookHOOK_FILE_PERMISSION),
				Comm: comm("ThreadPoolForeg"),
			},
			path: "/etc/hosts",
			exe:  "/opt/google/chrome/chrome",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGolden(t, tt.name, encode(t, tt.header, tt.path, tt.exe))
		})
	}
}

func checkGolden(t *testing.T, name string, sample []byte) {
	t.Helper()
	var r record.Record
	if err := record.Decode(sample, &r); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	got, err := json.MarshalIndent(decoded{
		Record:      r,
		OpName:      r.Op.String(),
		HookName:    r.Hook.String(),
		SyscallName: r.SyscallName(),
	}, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')

	golden := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("decoded record differs from %s\n got: %s\nwant: %s", golden, got, want)
	}
}

func TestDecodeCopiesStrings(t *testing.T) {
	sample := encode(t, kernelHeader, "/etc/passwd", "/usr/bin/cat")
	var r record.Record
	if err := record.Decode(sample, &r); err != nil {
		t.Fatal(err)
	}

	// The ring buffer reader reuses its buffer for the next sample.
	for i := range sample {
		sample[i] = 'X'
	}
	if r.Path != "/etc/passwd" || r.Executable != "/usr/bin/cat" || r.Comm != "cat" {
		t.Fatalf("strings changed with the sample's buffer: %q %q %q", r.Path, r.Executable, r.Comm)
	}
}

func TestDecodeOverwritesWholeRecord(t *testing.T) {
	r := record.Record{Mask: 4, Prot: 7, Path: "/stale"}
	h := kernelHeader
	h.Op = uint16(probe.FileaccessOpOP_TRUNCATE)
	if err := record.Decode(encode(t, h, "/etc/passwd", ""), &r); err != nil {
		t.Fatal(err)
	}
	if r.Mask != 0 || r.Prot != 0 || r.Executable != "" {
		t.Fatalf("fields of the previous record survived: %+v", r)
	}
}

func TestDecodeRejectsShortSamples(t *testing.T) {
	whole := encode(t, kernelHeader, "/etc/passwd", "/usr/bin/cat")
	headerSize := int(unsafe.Sizeof(probe.FileaccessRecord{}))
	tests := []struct {
		name   string
		sample []byte
	}{
		{name: "empty", sample: nil},
		{name: "shorter_than_header", sample: whole[:headerSize-1]},
		{name: "header_without_paths", sample: whole[:headerSize]},
		{name: "executable_cut_short", sample: whole[:len(whole)-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r record.Record
			err := record.Decode(tt.sample, &r)
			if !errors.Is(err, record.ErrShort) {
				t.Fatalf("Decode of %d bytes: got %v, want ErrShort", len(tt.sample), err)
			}
		})
	}
}
