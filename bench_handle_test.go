package fileaccessreceiver

import (
	"context"
	binenc "encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/container"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/kube"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/metadata"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/process"
)

// The process and container of the benchmark's records: cat, started by a
// shell, in a containerd container of a pod.
const (
	benchPID         = 4200
	benchExecNs      = 7_000_000_000
	benchShellPID    = 4100
	benchShellExecNs = 5_000_000_000
	benchContainerID = "5d41402abc4b2a76b9719d911017c592ae3b1bda5e1f6a0bb3c6f2d4e8a7c901"
	benchPodUID      = "7a1c3e5f-2b4d-4f6a-8c0e-1d3f5a7b9c2e"
	benchPodCgroup   = "/kubepods.slice/kubepods-besteffort.slice/" +
		"kubepods-besteffort-pod7a1c3e5f_2b4d_4f6a_8c0e_1d3f5a7b9c2e.slice"
	benchContainerCgroup = benchPodCgroup + "/cri-containerd-" + benchContainerID + ".scope"
	benchHostCgroup      = "/user.slice/user-1000.slice/session-3.scope"
	// benchFlushEvery is the default max_batch_size: the receiver starts a
	// new batch after that many records.
	benchFlushEvery = 1024
)

// BenchmarkHandle runs the receiver's whole path for one ring buffer sample,
// the reader's part and the converter's one after the other: decoding, the
// process table, the container and pod, and conversion of each
// benchFlushEvery records into a batch. One op is one record, so ns/op is
// the CPU time a record takes over both goroutines.
func BenchmarkHandle(b *testing.B) {
	tests := []struct {
		name   string
		cgroup string
		pods   bool
	}{
		{name: "host", cgroup: benchHostCgroup},
		{name: "container", cgroup: benchContainerCgroup},
		{name: "pod", cgroup: benchContainerCgroup, pods: true},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			r, cgroupID := benchReceiver(b, tt.cgroup, tt.pods)
			samples := benchSamples(cgroupID)
			now := time.Now()
			held := r.newBatch()
			benchCheck(b, r, &held, samples[0], now, tt.cgroup == benchContainerCgroup, tt.pods)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := r.handle(&held, samples[i%len(samples)], now); err != nil {
					b.Fatal(err)
				}
				i++
				if i%benchFlushEvery == 0 {
					batch := r.newBatch()
					r.build(r.pending, &batch)
					r.pending.reset()
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// benchCheck handles one sample and checks that it became the process's
// announcement and its record, with the container and pod as asked, and that
// nothing waited in held.
func benchCheck(b *testing.B, r *fileAccessReceiver, held *batch, sample []byte, now time.Time, inContainer, inPod bool) {
	b.Helper()
	if err := r.handle(held, sample, now); err != nil {
		b.Fatal(err)
	}
	if n := held.logs.LogRecordCount(); n != 0 {
		b.Fatalf("one sample put %d records in the reader's own batch, want them all pending", n)
	}
	converted := r.newBatch()
	r.build(r.pending, &converted)
	r.pending.reset()
	if n := converted.logs.LogRecordCount(); n != 2 {
		b.Fatalf("one sample made %d records, want the exec's and the access's", n)
	}
	resource := converted.logs.ResourceLogs().At(0).Resource().Attributes()
	_, hasContainer := resource.Get("container.id")
	_, hasPod := resource.Get("k8s.pod.name")
	if hasContainer != inContainer || hasPod != inPod {
		b.Fatalf("resource %v: want container %v, pod %v", resource.AsRaw(), inContainer, inPod)
	}
}

// benchReceiver builds the receiver's record path by hand, as Start and
// startIdentity would, on a fake cgroup tree and procfs, and returns it with
// the cgroup id of the process's cgroup.
func benchReceiver(b *testing.B, cgroup string, pods bool) (*fileAccessReceiver, uint64) {
	b.Helper()
	dir := b.TempDir()
	cgroupRoot, procRoot := filepath.Join(dir, "cgroup"), filepath.Join(dir, "proc")
	cgroupDir := filepath.Join(cgroupRoot, cgroup)
	procDir := filepath.Join(procRoot, strconv.Itoa(benchPID))
	for _, d := range []string{cgroupDir, procDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(procDir, "cgroup"), []byte("0::"+cgroup+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	// A cgroup's id is its directory's inode number.
	var st unix.Stat_t
	if err := unix.Stat(cgroupDir, &st); err != nil {
		b.Fatal(err)
	}
	cgroupID := st.Ino

	telemetry, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	if err != nil {
		b.Fatal(err)
	}
	cfg := createDefaultConfig()
	cfg.Kubernetes.Enabled = pods
	cfg.Kubernetes.NodeName = testNode
	cfg.Kubernetes.Labels = []string{"app"}
	// The benchmark converts the pending chunk itself, so it is never sent.
	cfg.MaxBatchSize = math.MaxInt
	r := &fileAccessReceiver{
		pending:       &chunk{},
		set:           receivertest.NewNopSettings(metadata.Type),
		cfg:           cfg,
		telemetry:     telemetry,
		hostName:      testNode,
		processEvents: processEventsWatched,
		processes:     process.NewTable(testNode, maxProcesses, exitedProcessGrace),
		containers:    container.NewResolver(cgroupRoot, procRoot, zap.NewNop()),
		hold:          newPodHold(cfg.Kubernetes.PodWait, maxHeldRecords),
	}
	benchExecs(r.processes, cgroupID)
	if pods {
		r.pods = benchPods(b)
	}
	return r, cgroupID
}

// benchExecs feeds the table the execs of the shell and of cat.
func benchExecs(t *process.Table, cgroupID uint64) {
	t.Exec(&process.Event{
		EventNs: benchShellExecNs, ExecNs: benchShellExecNs, StartNs: benchShellExecNs - 1000,
		CgroupID: cgroupID, PID: benchShellPID, PPID: 1, NsPID: 7, AUID: 4294967295,
		Executable: "/usr/bin/bash", Cwd: "/", Args: []string{"bash"}, Comm: "bash",
	})
	t.Exec(&process.Event{
		EventNs: benchExecNs, ExecNs: benchExecNs, ParentExecNs: benchShellExecNs,
		StartNs: benchExecNs - 1000, CgroupID: cgroupID,
		PID: benchPID, TID: benchPID, PPID: benchShellPID, NsPID: 12,
		UID: 1000, EUID: 1000, GID: 1000, EGID: 1000, AUID: 4294967295,
		Executable: "/usr/bin/cat",
		Cwd:        "/srv/app",
		Args:       []string{"cat", "-n", "/etc/passwd", "/etc/group", "/etc/hosts"},
		Comm:       "cat",
	})
}

// benchPods starts a pod watch over a fake API server that knows the
// container's pod, and waits until the watch has it.
func benchPods(b *testing.B) *kube.Watcher {
	b.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "xwing-5d8f7c9b4-x7k2p", Namespace: "default", UID: benchPodUID,
			ResourceVersion: "1", Labels: map[string]string{"app": "xwing"},
		},
		Spec: corev1.PodSpec{
			NodeName:   testNode,
			Containers: []corev1.Container{{Name: "spaceship", Image: "docker.io/tgraf/netperf:v2.7"}},
		},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "spaceship", ContainerID: "containerd://" + benchContainerID,
			Image: "docker.io/tgraf/netperf:v2.7",
		}}},
	}
	w := kube.NewWatcher(fake.NewClientset(pod), kube.Config{NodeName: testNode, Labels: []string{"app"}}, zap.NewNop())
	if err := w.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := w.Lookup(benchContainerID); ok && w.HasSynced() {
			return w
		}
		if time.Now().After(deadline) {
			b.Fatal("the pod watch did not find the pod")
		}
	}
}

// benchSamples returns what cat writes to the ring buffer reading
// /etc/passwd, as the kernel lays the records out (probe.FileaccessRecord,
// then the path and the executable's path): the two maps of its loader, and
// two reads, the second at the end of the file.
func benchSamples(cgroupID uint64) [][]byte {
	base := probe.FileaccessRecord{
		Kind: uint32(probe.FileaccessRecordKindKIND_FILE), Auid: 4294967295,
		ExecNs: benchExecNs, CgroupId: cgroupID,
		Pid: benchPID, Tid: benchPID, Ppid: benchShellPID,
		Uid: 1000, Euid: 1000, Gid: 1000, Egid: 1000, Mode: 0o100644,
		Comm: [16]int8{'c', 'a', 't'},
	}
	mmap := func(boot uint64, path string, ino uint64, prot uint64) []byte {
		h := base
		h.BootNs, h.Ino, h.Arg, h.MmapFlags = boot, ino, prot, 0x2
		h.Op, h.Hook = uint16(probe.FileaccessOpOP_MMAP), uint16(probe.FileaccessHookHOOK_MMAP_FILE)
		return benchEncode(h, path, "/usr/bin/cat")
	}
	read := func(boot uint64, path string, ino uint64) []byte {
		h := base
		h.BootNs, h.Ino, h.Arg = boot, ino, 4
		h.Op, h.Hook = uint16(probe.FileaccessOpOP_READ), uint16(probe.FileaccessHookHOOK_FILE_PERMISSION)
		return benchEncode(h, path, "/usr/bin/cat")
	}
	return [][]byte{
		mmap(benchExecNs+10_000, "/etc/ld.so.cache", 1_310_712, 0x1),
		mmap(benchExecNs+20_000, "/usr/lib/x86_64-linux-gnu/libc.so.6", 2_883_601, 0x5),
		read(benchExecNs+30_000, "/etc/passwd", 1_310_730),
		read(benchExecNs+40_000, "/etc/passwd", 1_310_730),
	}
}

func benchEncode(h probe.FileaccessRecord, path, exe string) []byte {
	h.PathLen, h.ExeLen = uint16(len(path)), uint16(len(exe))
	b, err := binenc.Append(nil, binenc.NativeEndian, &h)
	if err != nil {
		panic(err)
	}
	b = append(b, path...)
	return append(b, exe...)
}
