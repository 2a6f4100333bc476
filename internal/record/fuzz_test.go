package record_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/process"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

// The fuzz targets hold the decoders to the layout the kernel writes, worked
// out here a second way: the header is read with encoding/binary, and the
// strings are the bytes at the offsets its lengths give. A decoder must accept
// a sample exactly when the sample holds the header and those strings, return
// nothing it did not find there, and leave the value it decodes into as it was
// when it refuses one.

var (
	fileHeaderLen = int(unsafe.Sizeof(probe.FileaccessRecord{}))
	procHeaderLen = int(unsafe.Sizeof(probe.FileaccessProcRecord{}))
)

// errWrongKind stands for the error a decoder gives a record of a kind it does
// not decode; the decoders have no sentinel for it.
var errWrongKind = errors.New("wrong kind")

// FuzzDecode checks Decode on any sample: no panic; success exactly when the
// sample holds a file header and the paths it announces; the header's fields
// and the bytes at the paths' offsets as the result; the same result into a
// fresh Record, into one that held another record, and a second time; and on
// failure an error with the Record left as it was.
func FuzzDecode(f *testing.F) {
	for _, sample := range fileSeeds(f) {
		f.Add(sample)
	}

	// The receiver decodes every record into one Record, whose strings live
	// in buffers kept from record to record.
	var earlier record.Record
	sample := encode(f, kernelHeader, "/var/lib/app/state", "/usr/bin/app")
	if err := record.Decode(sample, &earlier); err != nil {
		f.Fatal(err)
	}
	earlierFields := exportedFields(earlier)

	f.Fuzz(func(t *testing.T, sample []byte) {
		checkKindOf(t, sample)
		want, wantErr := expectFile(sample)

		// The ring buffer reader overwrites its buffer with the next sample,
		// so the decoded strings must be copies.
		buf := bytes.Clone(sample)
		var fresh record.Record
		err := record.Decode(buf, &fresh)
		overwrite(buf)
		checkVerdict(t, err, wantErr)

		reused := earlier
		reusedErr := record.Decode(sample, &reused)
		if (reusedErr == nil) != (err == nil) {
			t.Fatalf("Decode into a fresh Record gave %v, into a used one %v", err, reusedErr)
		}
		if !reflect.DeepEqual(exportedFields(earlier), earlierFields) {
			t.Fatalf("decoding into a Record changed the strings of an earlier record: %+v", earlier)
		}
		if err != nil {
			if !reflect.DeepEqual(exportedFields(reused), earlierFields) {
				t.Fatalf("Decode failed with %v but changed the Record: %+v", err, reused)
			}
			return
		}

		if k, _ := record.KindOf(sample); k != record.KindFile {
			t.Fatalf("Decode accepted a record of kind %d", k)
		}
		for _, got := range []record.Record{fresh, reused} {
			if !reflect.DeepEqual(exportedFields(got), exportedFields(want)) {
				t.Fatalf("Decode gave\n%+v\nthe sample holds\n%+v", got, want)
			}
		}
		if err := record.Decode(sample, &reused); err != nil {
			t.Fatalf("a second Decode of the same sample failed: %v", err)
		}
		if !reflect.DeepEqual(exportedFields(reused), exportedFields(want)) {
			t.Fatalf("a second Decode gave\n%+v\nthe first\n%+v", reused, want)
		}
	})
}

// FuzzDecodeProcess checks DecodeProcess on any sample as FuzzDecode checks
// Decode, with the executable, working directory and arguments in place of the
// paths, and the kind it returns in agreement with the header and KindOf.
func FuzzDecodeProcess(f *testing.F) {
	for _, sample := range processSeeds(f) {
		f.Add(sample)
	}

	var earlier process.Event
	exec := probe.FileaccessProcRecord{Kind: uint32(record.KindExec), Pid: 7, Comm: comm("sh")}
	sample := encodeProcess(f, exec, "/bin/sh", "/root", "sh\x00-c\x00true\x00")
	if _, err := record.DecodeProcess(sample, &earlier); err != nil {
		f.Fatal(err)
	}
	earlierCopy := earlier
	earlierCopy.Args = append([]string(nil), earlier.Args...)

	f.Fuzz(func(t *testing.T, sample []byte) {
		checkKindOf(t, sample)
		want, argv, wantErr := expectProcess(sample)

		buf := bytes.Clone(sample)
		var fresh process.Event
		kind, err := record.DecodeProcess(buf, &fresh)
		overwrite(buf)
		checkVerdict(t, err, wantErr)

		reused := earlier
		reusedKind, reusedErr := record.DecodeProcess(sample, &reused)
		if (reusedErr == nil) != (err == nil) || reusedKind != kind {
			t.Fatalf("DecodeProcess into a fresh Event gave %d, %v; into a used one %d, %v",
				kind, err, reusedKind, reusedErr)
		}
		if err != nil {
			if kind != 0 {
				t.Fatalf("DecodeProcess failed with %v but returned kind %d", err, kind)
			}
			if !reflect.DeepEqual(reused, earlierCopy) {
				t.Fatalf("DecodeProcess failed with %v but changed the Event: %+v", err, reused)
			}
			return
		}

		if k, _ := record.KindOf(sample); k != kind {
			t.Fatalf("DecodeProcess returned kind %d, KindOf %d", kind, k)
		}
		for _, got := range []process.Event{fresh, reused} {
			checkArgs(t, got.Args, argv)
			got.Args = nil
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("DecodeProcess gave\n%+v\nthe sample holds\n%+v", got, want)
			}
		}
		again := reused
		if _, err := record.DecodeProcess(sample, &reused); err != nil {
			t.Fatalf("a second DecodeProcess of the same sample failed: %v", err)
		}
		if !reflect.DeepEqual(reused, again) {
			t.Fatalf("a second DecodeProcess gave\n%+v\nthe first\n%+v", reused, again)
		}
	})
}

// expectFile returns the Record a sample holds, read with encoding/binary, or
// the error Decode must give it: ErrShort before the header's end or when the
// paths run past the sample, errWrongKind for a record of another kind.
func expectFile(sample []byte) (record.Record, error) {
	var h probe.FileaccessRecord
	if _, err := binary.Decode(sample, binary.NativeEndian, &h); err != nil {
		return record.Record{}, record.ErrShort
	}
	if record.Kind(h.Kind) != record.KindFile {
		return record.Record{}, errWrongKind
	}
	pathEnd := fileHeaderLen + int(h.PathLen)
	exeEnd := pathEnd + int(h.ExeLen)
	if exeEnd > len(sample) {
		return record.Record{}, record.ErrShort
	}

	r := record.Record{
		BootNs: h.BootNs, ExecNs: h.ExecNs, CgroupID: h.CgroupId, Return: h.Ret,
		MmapFlags: h.MmapFlags, Inode: h.Ino, Mode: h.Mode,
		PID: h.Pid, TID: h.Tid, PPID: h.Ppid, UID: h.Uid, EUID: h.Euid,
		GID: h.Gid, EGID: h.Egid, AUID: h.Auid,
		Op: record.Op(h.Op), Hook: record.Hook(h.Hook), Syscall: h.SyscallNr,
		Path:                string(sample[fileHeaderLen:pathEnd]),
		PathTruncated:       h.Flags&uint16(probe.FileaccessRecordFlagRECORD_PATH_TRUNCATED) != 0,
		PathDeleted:         h.Flags&uint16(probe.FileaccessRecordFlagRECORD_PATH_DELETED) != 0,
		PathAsWritten:       h.Flags&uint16(probe.FileaccessRecordFlagRECORD_PATH_AS_WRITTEN) != 0,
		Executable:          string(sample[pathEnd:exeEnd]),
		ExecutableTruncated: h.Flags&uint16(probe.FileaccessRecordFlagRECORD_EXE_TRUNCATED) != 0,
		ExecutableDeleted:   h.Flags&uint16(probe.FileaccessRecordFlagRECORD_EXE_DELETED) != 0,
		ExecutableOfExec:    h.Flags&uint16(probe.FileaccessRecordFlagRECORD_EXE_OF_EXEC) != 0,
		Dedup:               h.Flags&uint16(probe.FileaccessRecordFlagRECORD_DEDUP) != 0,
		Comm:                commOf(h.Comm),
	}
	switch r.Op {
	case record.OpMmap:
		r.Prot = uint32(h.Arg)
	case record.OpRead, record.OpWrite:
		r.Mask = uint32(h.Arg)
	}
	return r, nil
}

// expectProcess returns the Event a sample holds, without its arguments, and
// the bytes of argv, or the error DecodeProcess must give it.
func expectProcess(sample []byte) (process.Event, []byte, error) {
	var h probe.FileaccessProcRecord
	if _, err := binary.Decode(sample, binary.NativeEndian, &h); err != nil {
		return process.Event{}, nil, record.ErrShort
	}
	switch record.Kind(h.Kind) {
	case record.KindExec, record.KindClone, record.KindExit:
	default:
		return process.Event{}, nil, errWrongKind
	}
	exeEnd := procHeaderLen + int(h.ExeLen)
	cwdEnd := exeEnd + int(h.CwdLen)
	argsEnd := cwdEnd + int(h.ArgsLen)
	if argsEnd > len(sample) {
		return process.Event{}, nil, record.ErrShort
	}

	e := process.Event{
		EventNs: h.EventNs, ExecNs: h.ExecNs, ParentExecNs: h.ParentExecNs,
		StartNs: h.StartNs, CgroupID: h.CgroupId,
		PID: h.Pid, TID: h.Tid, PPID: h.Ppid, NsPID: h.NsPid,
		UID: h.Uid, EUID: h.Euid, GID: h.Gid, EGID: h.Egid, AUID: h.Auid,
		ExitCode:            h.ExitCode,
		Executable:          string(sample[procHeaderLen:exeEnd]),
		ExecutableTruncated: h.Flags&uint32(probe.FileaccessRecordFlagRECORD_EXE_TRUNCATED) != 0,
		ExecutableDeleted:   h.Flags&uint32(probe.FileaccessRecordFlagRECORD_EXE_DELETED) != 0,
		Cwd:                 string(sample[exeEnd:cwdEnd]),
		CwdTruncated:        h.Flags&uint32(probe.FileaccessRecordFlagRECORD_CWD_TRUNCATED) != 0,
		ArgsTruncated:       h.Flags&uint32(probe.FileaccessRecordFlagRECORD_ARGS_TRUNCATED) != 0,
		Comm:                commOf(h.Comm),
	}
	return e, bytes.Clone(sample[cwdEnd:argsEnd]), nil
}

// checkArgs checks that args are argv's NUL-terminated arguments, the last
// one possibly cut short without its NUL, and nil when argv holds none.
func checkArgs(t *testing.T, args []string, argv []byte) {
	t.Helper()
	whole := string(bytes.TrimSuffix(argv, []byte{0}))
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			t.Fatalf("argument %q of %q holds a NUL", a, argv)
		}
	}
	if strings.Join(args, "\x00") != whole || (args == nil) != (whole == "") {
		t.Fatalf("arguments %q from argv %q", args, argv)
	}
}

// checkVerdict checks a decoder's error against the one the sample calls for.
func checkVerdict(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("the sample holds a whole record, the decoder failed: %v", err)
	case want != nil && err == nil:
		t.Fatalf("the decoder accepted a sample it should refuse (%v)", want)
	case want == record.ErrShort && !errors.Is(err, record.ErrShort):
		t.Fatalf("the sample is short, the decoder gave %v", err)
	case want == errWrongKind && errors.Is(err, record.ErrShort):
		t.Fatalf("the sample is of another kind, the decoder gave %v", err)
	}
}

// checkKindOf checks that KindOf gives the kind in the sample's first four
// bytes, and ErrShort when it has fewer.
func checkKindOf(t *testing.T, sample []byte) {
	t.Helper()
	kind, err := record.KindOf(sample)
	if len(sample) < 4 {
		if !errors.Is(err, record.ErrShort) {
			t.Fatalf("KindOf of %d bytes gave %d, %v", len(sample), kind, err)
		}
		return
	}
	var want uint32
	if _, err := binary.Decode(sample, binary.NativeEndian, &want); err != nil {
		t.Fatal(err)
	}
	if err != nil || kind != record.Kind(want) {
		t.Fatalf("KindOf gave %d, %v; the sample starts with kind %d", kind, err, want)
	}
}

// exportedFields returns the fields of a Record a caller sees, leaving out
// the buffers it keeps for its strings.
func exportedFields(r record.Record) []any {
	v := reflect.ValueOf(r)
	var fields []any
	for i := range v.NumField() {
		if v.Type().Field(i).IsExported() {
			fields = append(fields, v.Field(i).Interface())
		}
	}
	return fields
}

// commOf returns the thread name in a header's comm: up to its first NUL,
// or all of it when it has none.
func commOf(c [16]int8) string {
	var b []byte
	for _, ch := range c {
		if ch == 0 {
			break
		}
		b = append(b, byte(ch))
	}
	return string(b)
}

// overwrite fills a sample's buffer with other bytes, as the next sample would.
func overwrite(b []byte) {
	for i := range b {
		b[i] = 0xa5
	}
}

// encodeProcess returns the sample the kernel writes for a process record: the
// header, then the executable, the working directory and argv as the kernel
// keeps it, each argument NUL-terminated. It sets the header's lengths.
func encodeProcess(tb testing.TB, h probe.FileaccessProcRecord, exe, cwd, argv string) []byte {
	tb.Helper()
	h.ExeLen = uint16(len(exe))
	h.CwdLen = uint16(len(cwd))
	h.ArgsLen = uint16(len(argv))
	b, err := binary.Append(nil, binary.NativeEndian, &h)
	if err != nil {
		tb.Fatalf("encoding the header: %v", err)
	}
	if len(b) != procHeaderLen {
		tb.Fatalf("the process header encodes to %d bytes, the struct is %d", len(b), procHeaderLen)
	}
	return append(append(append(b, exe...), cwd...), argv...)
}

// fileSeeds are the samples FuzzDecode starts from: the kernel's own, records
// the encoder makes, and records cut short, with lengths past the sample's
// end, of other kinds, and empty.
func fileSeeds(tb testing.TB) [][]byte {
	kernel, err := os.ReadFile(kernelSample)
	if err != nil {
		tb.Fatal(err)
	}
	pathLenAt := int(unsafe.Offsetof(kernelHeader.PathLen))
	exeLenAt := int(unsafe.Offsetof(kernelHeader.ExeLen))

	mmap := kernelHeader
	mmap.Op, mmap.Hook = uint16(record.OpMmap), uint16(record.HookMmapFile)
	mmap.Arg, mmap.MmapFlags = 1, 2
	unterminated := kernelHeader
	for i := range unterminated.Comm {
		unterminated.Comm[i] = 'w'
	}
	flagged := kernelHeader
	flagged.Flags = 0xffff

	seeds := [][]byte{
		kernel,
		encode(tb, mmap, "/etc/ld.so.cache", "/usr/bin/cat"),
		encode(tb, unterminated, "/etc/hosts", "/opt/app/bin/server"),
		// A path longer than the Record's buffers take gets its own allocation.
		encode(tb, flagged, strings.Repeat("/deep", 500), ""),
		encode(tb, kernelHeader, "", ""),
		append(bytes.Clone(kernel), make([]byte, 9)...),
		nil,
		kernel[:3],
		kernel[:fileHeaderLen-1],
		kernel[:fileHeaderLen],
		kernel[:len(kernel)-1],
		withUint16(kernel, pathLenAt, 0xffff),
		withUint16(kernel, exeLenAt, uint16(len(kernel)-fileHeaderLen)),
	}
	for _, k := range []record.Kind{0, record.KindExec, record.KindClone, record.KindExit, 99} {
		seeds = append(seeds, withUint32(kernel, 0, uint32(k)))
	}
	return seeds
}

// processSeeds are the samples FuzzDecodeProcess starts from, made as
// fileSeeds are, and a file record.
func processSeeds(tb testing.TB) [][]byte {
	kernel, err := os.ReadFile(kernelSample)
	if err != nil {
		tb.Fatal(err)
	}
	h := probe.FileaccessProcRecord{
		Kind: uint32(record.KindExec), EventNs: 5_000_000_000, ExecNs: 5_000_000_000,
		ParentExecNs: 4_000_000_000, StartNs: 4_900_000_000, CgroupId: 4242,
		Pid: 1200, Tid: 1200, Ppid: 1100, NsPid: 12, Uid: 1000, Euid: 1000,
		Gid: 1000, Egid: 1000, Auid: 1000, Comm: comm("bash"),
	}
	exec := encodeProcess(tb, h, "/usr/bin/bash", "/home/user", "bash\x00-c\x00echo hi\x00")
	exeLenAt := int(unsafe.Offsetof(h.ExeLen))
	cwdLenAt := int(unsafe.Offsetof(h.CwdLen))
	argsLenAt := int(unsafe.Offsetof(h.ArgsLen))

	cut := h
	cut.Flags = uint32(probe.FileaccessRecordFlagRECORD_ARGS_TRUNCATED)
	clone := h
	clone.Kind = uint32(record.KindClone)
	exit := h
	exit.Kind, exit.ExitCode = uint32(record.KindExit), 9
	unterminated := h
	for i := range unterminated.Comm {
		unterminated.Comm[i] = 'w'
	}

	seeds := [][]byte{
		exec,
		encodeProcess(tb, cut, "/usr/bin/python3", "/srv", "python3\x00-m\x00http.ser"),
		encodeProcess(tb, h, "/usr/bin/env", "/", "env\x00\x00x\x00"),
		encodeProcess(tb, h, "", "", "\x00"),
		encodeProcess(tb, clone, "", "", ""),
		encodeProcess(tb, exit, "", "", ""),
		encodeProcess(tb, unterminated, "/usr/bin/worker", "/", "worker\x00"),
		nil,
		exec[:3],
		exec[:procHeaderLen-1],
		exec[:procHeaderLen],
		exec[:len(exec)-1],
		withUint16(exec, exeLenAt, 0xffff),
		withUint16(exec, cwdLenAt, uint16(len(exec))),
		withUint16(exec, argsLenAt, 0xffff),
		kernel,
	}
	for _, k := range []record.Kind{0, record.KindFile, 99} {
		seeds = append(seeds, withUint32(exec, 0, uint32(k)))
	}
	return seeds
}

func withUint16(sample []byte, at int, v uint16) []byte {
	b := bytes.Clone(sample)
	binary.NativeEndian.PutUint16(b[at:], v)
	return b
}

func withUint32(sample []byte, at int, v uint32) []byte {
	b := bytes.Clone(sample)
	binary.NativeEndian.PutUint32(b[at:], v)
	return b
}
