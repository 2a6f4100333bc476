package fileaccessreceiver

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/metadata"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
)

// access is the part of a log record the end-to-end tests look at.
type access struct {
	body      string
	event     string
	path      string
	pid       int64
	exe       string
	truncated bool
	attrs     map[string]any
}

// attachEnv runs the end-to-end tests in one attach mode instead of auto, for
// proving each mode on kernels that have it.
const attachEnv = "FILE_ACCESS_TEST_ATTACH"

// expectAutoEnv names the mode auto must pick, where that is known (the test VMs).
const expectAutoEnv = "FILE_ACCESS_TEST_EXPECT_AUTO"

// strictEnv turns skips for a missing kernel feature into failures, where the
// machine is known to have everything (the test VMs).
const strictEnv = "FILE_ACCESS_TEST_STRICT"

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(strictEnv) != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test loads BPF programs into the running kernel")
	}
}

type running struct {
	rcv  *fileAccessReceiver
	sink *consumertest.LogsSink
	logs *observer.ObservedLogs
}

func startReceiver(t *testing.T, mutate func(*Config)) running {
	t.Helper()
	return startReceiverWith(t, mutate, nil, nil)
}

// startReceiverWith starts a receiver whose metrics go to tel (none when nil),
// letting prepare change it before Start.
func startReceiverWith(t *testing.T, mutate func(*Config), tel *componenttest.Telemetry, prepare func(*fileAccessReceiver)) running {
	t.Helper()
	requireRoot(t)
	cfg := createDefaultConfig()
	cfg.FlushInterval = 20 * time.Millisecond
	if mode := os.Getenv(attachEnv); mode != "" {
		cfg.Attach = mode
	}
	mutate(cfg)
	require.NoError(t, cfg.Validate())

	core, logs := observer.New(zap.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	if tel != nil {
		set.TelemetrySettings = tel.NewTelemetrySettings()
	}
	set.Logger = zap.New(core)
	sink := new(consumertest.LogsSink)
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	if prepare != nil {
		prepare(rcv.(*fileAccessReceiver))
	}
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, rcv.Shutdown(context.Background())) })
	return running{rcv: rcv.(*fileAccessReceiver), sink: sink, logs: logs}
}

func accesses(sink *consumertest.LogsSink) []access {
	var out []access
	for _, logs := range sink.AllLogs() {
		for _, rl := range logs.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, toAccess(lr))
				}
			}
		}
	}
	return out
}

// fileAccesses leaves out the process lifecycle records.
func fileAccesses(sink *consumertest.LogsSink) []access {
	var out []access
	for _, a := range accesses(sink) {
		if !strings.HasPrefix(a.event, "file_access.process.") {
			out = append(out, a)
		}
	}
	return out
}

func toAccess(lr plog.LogRecord) access {
	attrs := lr.Attributes().AsRaw()
	a := access{event: lr.EventName(), attrs: attrs, body: lr.Body().Str()}
	a.path, _ = attrs["file.path"].(string)
	a.pid, _ = attrs["process.pid"].(int64)
	a.exe, _ = attrs["process.executable.path"].(string)
	a.truncated, _ = attrs["file_access.path.truncated"].(bool)
	return a
}

// waitFor polls the sink until a record satisfies match, or fails the test.
func waitFor(t *testing.T, sink *consumertest.LogsSink, what string, match func(access) bool) access {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, a := range accesses(sink) {
			if match(a) {
				return a
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	all := accesses(sink)
	t.Fatalf("no record of %s among %d records; the last ones: %+v", what, len(all), all[max(0, len(all)-5):])
	return access{}
}

// settle waits past a flush so that records which should not exist would have arrived.
func settle() { time.Sleep(300 * time.Millisecond) }

func binary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	require.NoError(t, err)
	real, err := filepath.EvalSymlinks(p)
	require.NoError(t, err)
	return real
}

func testBinary(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	require.NoError(t, err)
	real, err := filepath.EvalSymlinks(p)
	require.NoError(t, err)
	return real
}

func run(t *testing.T, name string, args ...string) int {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return cmd.Process.Pid
}

func TestReportsEachOperationOnWatchedPaths(t *testing.T) {
	base := t.TempDir()
	watched := filepath.Join(base, "watched")
	sibling := filepath.Join(base, "watchedx") // shares the string prefix, not the component
	require.NoError(t, os.Mkdir(watched, 0o755))
	require.NoError(t, os.Mkdir(sibling, 0o755))
	file := filepath.Join(watched, "data.txt")
	unwatched := filepath.Join(sibling, "data.txt")

	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{watched, "/etc/passwd"} })

	catPid := run(t, "cat", "/etc/passwd")
	shPid := run(t, "sh", "-c", "echo hello > "+file+"; echo hello > "+unwatched+"; cat "+unwatched+" >/dev/null")
	mmapPid := runWorkloadChild(t, "mmap", file)
	truncatePid := runWorkloadChild(t, "truncate", file)
	ftruncatePid := runWorkloadChild(t, "ftruncate", file)
	openTruncPid := runWorkloadChild(t, "open-trunc", file)

	cat, sh, self := binary(t, "cat"), binary(t, "sh"), testBinary(t)
	tests := []struct {
		what  string
		event string
		path  string
		pid   int
		exe   string
	}{
		{"cat reading /etc/passwd", "file_access.read", "/etc/passwd", catPid, cat},
		{"sh writing through a redirection", "file_access.write", file, shPid, sh},
		{"a memory map", "file_access.mmap", file, mmapPid, self},
		{"truncate(2)", "file_access.truncate", file, truncatePid, self},
		{"ftruncate(2)", "file_access.truncate", file, ftruncatePid, self},
		{"open with O_TRUNC", "file_access.truncate", file, openTruncPid, self},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			a := waitFor(t, r.sink, tt.what, func(a access) bool {
				return a.event == tt.event && a.pid == int64(tt.pid) && a.path == tt.path
			})
			assert.Equal(t, tt.exe, a.exe)
			assert.Equal(t, false, a.truncated)
			assert.NotEmpty(t, a.attrs["file_access.hook"])
		})
	}

	mmap := waitFor(t, r.sink, "the mmap", func(a access) bool { return a.event == "file_access.mmap" && a.pid == int64(mmapPid) })
	assert.Equal(t, int64(1), mmap.attrs["file_access.mmap.prot"], "PROT_READ")

	settle()
	for _, a := range fileAccesses(r.sink) {
		if a.path != "/etc/passwd" && !strings.HasPrefix(a.path, watched+"/") {
			t.Errorf("record for an unwatched path: %+v", a)
		}
	}
}

// coverageWay is one way of doing I/O on a file, done by a workload child.
type coverageWay struct {
	name     string
	workload []string // after the kind: the file's path goes second
	event    string
	// hooksOnly ways never pass through a file system call, so the
	// tracepoint mode cannot see them.
	hooksOnly bool
}

var coverageWays = []coverageWay{
	{"read", []string{"io", "read"}, "file_access.read", false},
	{"readv", []string{"io", "readv"}, "file_access.read", false},
	{"pread64", []string{"io", "pread64"}, "file_access.read", false},
	{"preadv", []string{"io", "preadv"}, "file_access.read", false},
	{"preadv2", []string{"io", "preadv2"}, "file_access.read", false},
	{"write", []string{"io", "write"}, "file_access.write", false},
	{"writev", []string{"io", "writev"}, "file_access.write", false},
	{"pwrite64", []string{"io", "pwrite64"}, "file_access.write", false},
	{"pwritev", []string{"io", "pwritev"}, "file_access.write", false},
	{"pwritev2", []string{"io", "pwritev2"}, "file_access.write", false},
	{"copy_file_range", []string{"io", "copy_file_range"}, "file_access.read", false},
	{"sendfile", []string{"io", "sendfile"}, "file_access.read", false},
	{"splice", []string{"io", "splice"}, "file_access.read", false},
	{"io_uring read", []string{"uring", "read"}, "file_access.read", true},
	{"io_uring write", []string{"uring", "write"}, "file_access.write", true},
	{"io_uring read (SQPOLL)", []string{"uring", "read", "sqpoll"}, "file_access.read", true},
	{"io_uring write (SQPOLL)", []string{"uring", "write", "sqpoll"}, "file_access.write", true},
	{"aio read", []string{"aio", "read"}, "file_access.read", true},
	{"aio write", []string{"aio", "write"}, "file_access.write", true},
	{"fallocate", []string{"io", "fallocate"}, "file_access.write", false},
	{"mmap PROT_READ", []string{"mmap", "r"}, "file_access.mmap", false},
	{"mmap PROT_WRITE", []string{"mmap", "rw"}, "file_access.mmap", false},
	{"mmap PROT_EXEC", []string{"mmap", "rx"}, "file_access.mmap", false},
	{"truncate", []string{"truncate"}, "file_access.truncate", false},
	{"ftruncate", []string{"ftruncate"}, "file_access.truncate", false},
	{"open O_TRUNC", []string{"open-trunc"}, "file_access.truncate", false},
}

// TestCoverage does each way of I/O once on a watched file and checks for its
// record, attributed to the process that asked for it. The hook modes must see
// every way; the tracepoint mode must see the system calls and, so that the
// README's table stays true, must not see the rest. Each case logs a COVERAGE
// line that scripts/kernels/coverage-table.sh turns into that table.
func TestCoverage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.txt")
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })
	mode := r.rcv.probe.Mode

	for _, way := range coverageWays {
		t.Run(way.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(file, []byte("some data for the workload\n"), 0o644))
			args := append([]string{way.workload[0], file}, way.workload[1:]...)
			pid := runWorkloadChild(t, args...)
			match := func(a access) bool { return a.event == way.event && a.pid == int64(pid) && a.path == file }

			if mode == probe.ModeTracepoint && way.hooksOnly {
				settle()
				for _, a := range accesses(r.sink) {
					require.False(t, match(a), "tracepoint mode saw %s: %+v", way.name, a)
				}
				t.Logf("COVERAGE mode=%s way=%q result=not-seen", mode, way.name)
				return
			}
			a := waitFor(t, r.sink, way.name, match)
			if a.attrs["file_access.hook"] == "sys_exit" && way.workload[0] == "io" {
				assert.Equal(t, way.workload[1], a.attrs["file_access.syscall"])
			}
			if way.workload[0] == "mmap" {
				assert.Equal(t, int64(mmapProts[way.workload[1]]), a.attrs["file_access.mmap.prot"])
			}
			t.Logf("COVERAGE mode=%s way=%q result=seen", mode, way.name)
		})
	}
}

func TestExcludePathsAndOperations(t *testing.T) {
	dir := t.TempDir()
	skip := filepath.Join(dir, "skip")
	require.NoError(t, os.Mkdir(skip, 0o755))
	keep := filepath.Join(dir, "keep.txt")

	r := startReceiver(t, func(c *Config) {
		c.IncludePaths = []string{dir}
		c.ExcludePaths = []string{skip}
		c.Operations = []string{"write"}
	})
	pid := run(t, "sh", "-c", "echo a > "+keep+"; echo b > "+skip+"/f.txt; cat "+keep+" >/dev/null")

	waitFor(t, r.sink, "the write to keep.txt", func(a access) bool {
		return a.event == "file_access.write" && a.path == keep && a.pid == int64(pid)
	})
	settle()
	for _, a := range fileAccesses(r.sink) {
		assert.Equal(t, "file_access.write", a.event, "only writes are watched: %+v", a)
		assert.NotContains(t, a.path, skip, "excluded path reported: %+v", a)
	}
}

func TestLongestPrefixDecides(t *testing.T) {
	dir := t.TempDir()
	excluded := filepath.Join(dir, "excluded")
	included := filepath.Join(excluded, "included")
	require.NoError(t, os.MkdirAll(included, 0o755))

	r := startReceiver(t, func(c *Config) {
		c.IncludePaths = []string{dir, included}
		c.ExcludePaths = []string{excluded}
		c.Operations = []string{"write"}
	})
	pid := run(t, "sh", "-c", "echo > "+dir+"/a; echo > "+excluded+"/b; echo > "+included+"/c")

	for _, want := range []string{dir + "/a", included + "/c"} {
		waitFor(t, r.sink, want, func(a access) bool { return a.path == want && a.pid == int64(pid) })
	}
	settle()
	for _, a := range accesses(r.sink) {
		assert.NotEqual(t, excluded+"/b", a.path)
	}
}

// blockingLogs holds the first batch until released, so the ring buffer fills.
type blockingLogs struct {
	consumertest.LogsSink
	release chan struct{}
}

func (b *blockingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	<-b.release
	return b.LogsSink.ConsumeLogs(ctx, ld)
}

// TestRingBufferOverflowIsCountedExactly: several processes flood a small
// ring buffer while the next consumer holds the reader up; every read is
// either delivered or counted as lost, exactly.
func TestRingBufferOverflowIsCountedExactly(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))

	cfg := createDefaultConfig()
	cfg.IncludePaths = []string{dir}
	cfg.RingBufferSize = 16 << 10 // about 80 records
	cfg.MaxBatchSize = 1
	cfg.FlushInterval = 20 * time.Millisecond
	cfg.ProcessEvents = string(processEventsNone)
	if mode := os.Getenv(attachEnv); mode != "" {
		cfg.Attach = mode
	}
	tel := componenttest.NewTelemetry()
	defer tel.Shutdown(context.Background())
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	core, logs := observer.New(zap.InfoLevel)
	set.Logger = zap.New(core)
	next := &blockingLogs{release: make(chan struct{})}
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, rcv.Shutdown(context.Background())) }()

	const workers, reads = 4, 1000
	pids := make(chan int, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pids <- runWorkloadChild(t, "reads", file, strconv.Itoa(reads))
		}()
	}
	wg.Wait()
	close(pids)
	ours := map[int64]bool{}
	for pid := range pids {
		ours[int64(pid)] = true
	}
	close(next.release)

	count := func() (delivered, lost int64) {
		for _, a := range fileAccesses(&next.LogsSink) {
			if ours[a.pid] {
				delivered++
			}
		}
		return delivered, lostRecords(t, tel, set.ID.String(), lostRingFull)
	}
	require.Eventually(t, func() bool {
		delivered, lost := count()
		return delivered+lost >= workers*reads
	}, 20*time.Second, 20*time.Millisecond, "reads lost uncounted")
	settle()
	delivered, lost := count()
	t.Logf("%d reads: %d delivered, %d counted as lost", workers*reads, delivered, lost)
	assert.Equal(t, int64(workers*reads), delivered+lost, "delivered and lost add up to the reads made")
	assert.Positive(t, lost, "the flood should have overflowed the ring")
	assert.Zero(t, lostRecords(t, tel, set.ID.String(), lostMalformed))

	// The loss began and ended, and the logs say so. The reader goes on
	// reading until the chunks in hand are all waiting on the consumer, so a
	// flood can be lost in more than one stretch: each stretch's end says what
	// it lost, and together they say all of it.
	beganLogs := func() []observer.LoggedEntry {
		return logs.FilterMessage("File access records lost; otelcol_receiver_file_access_records_lost counts them").
			FilterField(zap.String("reason", lostRingFull)).All()
	}
	require.Eventually(t, func() bool { return len(beganLogs()) > 0 }, 5*time.Second, 20*time.Millisecond)
	assert.Len(t, beganLogs(), 1)
	endedLogs := func() []observer.LoggedEntry {
		return logs.FilterMessage("File access records are no longer lost").
			FilterField(zap.String("reason", lostRingFull)).All()
	}
	require.Eventually(t, func() bool {
		var sum uint64
		for _, e := range endedLogs() {
			sum += e.ContextMap()["lost"].(uint64)
		}
		return sum == uint64(lost)
	}, 5*time.Second, 20*time.Millisecond, "the ends of the loss say %d lost in all: %v", lost, endedLogs())
}

func lostRecords(t *testing.T, tel *componenttest.Telemetry, receiverID, reason string) int64 {
	return counterSum(t, tel, "otelcol_receiver_file_access_records_lost", receiverID, reason)
}

// counterSum adds up a counter of the receiver's own telemetry over the data
// points of one receiver, and of one reason unless reason is empty.
func counterSum(t *testing.T, tel *componenttest.Telemetry, name, receiverID, reason string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "a sum: %T", m.Data)
	var total int64
	for _, dp := range sum.DataPoints {
		r, _ := dp.Attributes.Value("reason")
		id, _ := dp.Attributes.Value("receiver")
		if (reason == "" || r.AsString() == reason) && id.AsString() == receiverID {
			total += dp.Value
		}
	}
	return total
}

// TestDescriptorHighBitsAreIgnored: the kernel takes a descriptor as an int,
// so junk in a register's upper half must not hide the access.
func TestDescriptorHighBitsAreIgnored(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })

	pid := runWorkloadChild(t, "pread-high-fd", file)
	waitFor(t, r.sink, "the pread", func(a access) bool {
		return a.event == "file_access.read" && a.pid == int64(pid) && a.path == file
	})
}

// slowLogs takes its time over every batch, so records pile up in the ring.
type slowLogs struct {
	consumertest.LogsSink
}

func (s *slowLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	time.Sleep(time.Millisecond)
	return s.LogsSink.ConsumeLogs(ctx, ld)
}

func TestShutdownHandsOnWhatTheRingHolds(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	cfg := createDefaultConfig()
	cfg.IncludePaths = []string{dir}
	cfg.MaxBatchSize = 1
	next := &slowLogs{}
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))

	const reads = 500
	pid := runWorkloadChild(t, "reads", file, strconv.Itoa(reads))
	require.NoError(t, rcv.Shutdown(context.Background()))

	got := 0
	for _, a := range fileAccesses(&next.LogsSink) {
		if a.pid == int64(pid) {
			got++
		}
	}
	assert.Equal(t, reads, got, "records in the ring at shutdown were dropped")
}

// stuckLogs never finishes a batch until its context is cancelled, like an
// exporter retrying a dead backend.
type stuckLogs struct{ entered chan struct{} }

func (s *stuckLogs) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *stuckLogs) ConsumeLogs(ctx context.Context, _ plog.Logs) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestShutdownCancelsAStuckConsumer(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	cfg := createDefaultConfig()
	cfg.IncludePaths = []string{dir}
	next := &stuckLogs{entered: make(chan struct{}, 1)}
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	runWorkloadChild(t, "reads", file, "1")
	<-next.entered

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the collector gives up waiting at once
	returned := make(chan error, 1)
	go func() { returned <- rcv.Shutdown(ctx) }()
	select {
	case err := <-returned:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("Shutdown still waits for a consumer that never returns")
	}
}

func TestPathIsTheProcessViewInsideAChroot(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "etc"), 0o755))
	hostPath := filepath.Join(root, "etc", "passwd")
	require.NoError(t, os.WriteFile(hostPath, []byte("root:x:0:0::/:/bin/sh\n"), 0o644))

	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{"/etc/passwd", root} })
	pid := runWorkloadChild(t, "chroot-read", root)

	waitFor(t, r.sink, "the read inside the chroot", func(a access) bool {
		return a.event == "file_access.read" && a.pid == int64(pid) && a.path == "/etc/passwd"
	})
	settle()
	for _, a := range accesses(r.sink) {
		assert.NotEqual(t, hostPath, a.path, "the host's view of the path leaked: %+v", a)
	}
}

func TestLongAndDeepPathsKeepTheirHead(t *testing.T) {
	tests := []struct {
		name           string
		depth, nameLen int
	}{
		{"longer than PATH_MAX", 20, 250},
		{"more components than the kernel keeps", 80, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{dir} })
			pid := runWorkloadChild(t, "deep-read", dir, strconv.Itoa(tt.depth), strconv.Itoa(tt.nameLen))

			a := waitFor(t, r.sink, "the deep read", func(a access) bool {
				return a.event == "file_access.read" && a.pid == int64(pid)
			})
			assert.True(t, a.truncated, "truncation flag")
			assert.True(t, strings.HasPrefix(a.path, dir+"/d"), "head kept: %.80s", a.path)
			assert.LessOrEqual(t, len(a.path), 4096)
		})
	}
}

func TestAutoModeLogsItsChoice(t *testing.T) {
	r := startReceiver(t, func(c *Config) { c.Attach = string(probe.ModeAuto) })
	chosen := r.logs.FilterMessage("Attach mode chosen").All()
	require.Len(t, chosen, 1)
	assert.Equal(t, string(r.rcv.probe.Mode), chosen[0].ContextMap()["mode"])
	assert.NotEqual(t, probe.ModeAuto, r.rcv.probe.Mode)

	if want := os.Getenv(expectAutoEnv); want != "" {
		assert.Equal(t, probe.Mode(want), r.rcv.probe.Mode, "the mode auto must pick on this kernel")
	}

	watching := r.logs.FilterMessage("Watching file accesses").All()
	require.Len(t, watching, 1)
	t.Logf("%v", watching[0].ContextMap())
	assert.NotEmpty(t, watching[0].ContextMap()["programs"])
}

func TestForcedModeEitherAttachesOrSaysWhy(t *testing.T) {
	requireRoot(t)
	for _, mode := range []probe.Mode{probe.ModeFentry, probe.ModeKprobe, probe.ModeTracepoint} {
		t.Run(string(mode), func(t *testing.T) {
			cfg := createDefaultConfig()
			cfg.Attach = string(mode)
			rcv, err := newReceiver(receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
			require.NoError(t, err)
			defer rcv.Shutdown(context.Background())

			err = rcv.Start(context.Background(), componenttest.NewNopHost())
			if err != nil {
				t.Log(err)
				assert.ErrorContains(t, err, "attach mode "+string(mode)+" is not usable on this kernel")
				return
			}
			assert.Equal(t, mode, rcv.probe.Mode)
		})
	}
}

func TestStartWithoutPrivilegesNamesTheCapabilities(t *testing.T) {
	requireRoot(t) // to drop them
	_, exe := publicTestBinary(t)

	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), workloadEnv+"=preflight -")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "missing capabilities CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)")
}

func TestLifecycle(t *testing.T) {
	rcv, err := newReceiver(receivertest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, rcv.Shutdown(context.Background()), "shutdown without start")
	require.NoError(t, rcv.Shutdown(context.Background()), "second shutdown")

	if os.Geteuid() != 0 {
		return
	}
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.Error(t, rcv.Start(context.Background(), componenttest.NewNopHost()), "second start")
	require.NoError(t, rcv.Shutdown(context.Background()))
	require.NoError(t, rcv.Shutdown(context.Background()))
}

// publicTestBinary copies the test binary into a directory any user can
// enter, for children run as another user: t.TempDir's parent is private to
// root.
func publicTestBinary(t *testing.T) (dir, exe string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "file-access-unprivileged-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	exe = filepath.Join(dir, "workload")
	copyFile(t, testBinary(t), exe)
	return dir, exe
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	require.NoError(t, err)
	defer dst.Close()
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
}

// TestAnonymousFilesAreNotFileAccesses: pipes, sockets and anonymous inodes
// have no path a prefix could match, even the root.
func TestAnonymousFilesAreNotFileAccesses(t *testing.T) {
	r := startReceiver(t, func(c *Config) { c.IncludePaths = []string{"/"} })
	pid := runWorkloadChild(t, "anonymous-io", "-")
	waitFor(t, r.sink, "the workload's exit", func(a access) bool {
		return a.event == "file_access.process.exit" && a.pid == int64(pid)
	})
	for _, a := range fileAccesses(r.sink) {
		if a.pid == int64(pid) && (a.event == "file_access.read" || a.event == "file_access.write") {
			assert.True(t, strings.HasPrefix(a.path, "/") && a.attrs["file.mode"] != nil,
				"an anonymous file reported as a file access: %s", a.body)
		}
	}
}

// TestTracepointModeTakesTheTypedProgram: the tp_btf program reads the task
// with plain loads, the raw tracepoint one with a helper call a read. Every
// kernel the suite runs on can take the first; falling back would only show
// as cost.
func TestTracepointModeTakesTheTypedProgram(t *testing.T) {
	r := startReceiver(t, func(c *Config) { c.Attach = string(probe.ModeTracepoint) })
	watching := r.logs.FilterMessage("Watching file accesses").All()
	require.Len(t, watching, 1)
	programs := watching[0].ContextMap()["programs"]
	assert.Contains(t, programs, "btf_sys_exit",
		"fallbacks: %v", r.logs.FilterMessage("The tp_btf program is not usable; trying the raw tracepoint").All())
	assert.NotContains(t, programs, "raw_sys_exit")
	// Kernels from 6.2 have bpf_rdonly_cast, through which the tp_btf
	// program reads the file, its dentries and mounts with plain loads too.
	major, minor := kernelVersion(t)
	castable := major > 6 || major == 6 && minor >= 2
	assert.Equal(t, castable, watching[0].ContextMap()["btf_cast_reads"],
		"kernel %d.%d: reads through casts", major, minor)
}

// kernelVersion is the running kernel's major and minor version.
func kernelVersion(t *testing.T) (major, minor int) {
	t.Helper()
	var u unix.Utsname
	require.NoError(t, unix.Uname(&u))
	release := unix.ByteSliceToString(u.Release[:])
	_, err := fmt.Sscanf(release, "%d.%d", &major, &minor)
	require.NoError(t, err, "kernel release %q", release)
	return major, minor
}

// TestRecordsWakeTheReaderBeforeTheFlushInterval: with a flush interval of a
// minute the reader sleeps until the programs wake it, which they do when a
// quarter of the ring is unread, not for every record.
func TestRecordsWakeTheReaderBeforeTheFlushInterval(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	r := startReceiver(t, func(c *Config) {
		c.IncludePaths = []string{dir}
		c.ProcessEvents = string(processEventsNone)
		// A quarter is 2 MiB, which the execs elsewhere on the machine (every
		// process's exec is in the ring) are unlikely to fill within the test.
		c.RingBufferSize = 8 << 20
		c.MaxBatchSize = 1
		c.FlushInterval = time.Minute
	})

	// A few records stay under a quarter of the ring: nobody is woken.
	few := runWorkloadChild(t, "reads", file, "3")
	time.Sleep(time.Second)
	assert.Zero(t, len(fileAccesses(r.sink)), "records read before a quarter of the ring was unread")

	// Records of at least 200 bytes each: more than a quarter, less than the ring.
	many := runWorkloadChild(t, "reads", file, "12000")
	waitFor(t, r.sink, "a read after the ring's quarter filled", readBy(many))
	waitFor(t, r.sink, "the reads that waited in the ring", readBy(few))
}
