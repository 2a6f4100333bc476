package fileaccessreceiver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/container"
)

const testNode = "node-1"

// podContainer is a container as kubelet's systemd driver lays it out for
// containerd: a pod slice under its QoS class's, and a scope per container.
type podContainer struct {
	id, podUID string
	// cgroup is the container's cgroup directory.
	cgroup string
	// root is the container's root filesystem, with its own /etc/passwd.
	root string
}

func newPodContainer(t *testing.T) podContainer {
	t.Helper()
	requireRoot(t)
	c := podContainer{id: randomHex(t, 32), podUID: uuid(t), root: t.TempDir()}

	pod := "kubepods-besteffort-pod" + strings.ReplaceAll(c.podUID, "-", "_") + ".slice"
	dirs := []string{"kubepods.slice", "kubepods-besteffort.slice", pod, "cri-containerd-" + c.id + ".scope"}
	dir := cgroup2Root(t)
	for _, name := range dirs {
		dir = filepath.Join(dir, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatalf("creating cgroup %s: %v", dir, err)
		}
		// Removed deepest first, once the workload has left it.
		created := dir
		t.Cleanup(func() { _ = os.Remove(created) })
	}
	c.cgroup = dir

	require.NoError(t, os.Mkdir(filepath.Join(c.root, "etc"), 0o755))
	passwd := "root:x:0:0:root:/root:/bin/sh\nspaceship:x:1000:1000::/:/bin/sh\n"
	require.NoError(t, os.WriteFile(filepath.Join(c.root, "etc", "passwd"), []byte(passwd), 0o644))
	return c
}

// cgroup2Root returns where the cgroup v2 hierarchy is mounted, mounting it
// for the test where nothing has (the test VMs).
func cgroup2Root(t *testing.T) string {
	t.Helper()
	root, err := container.FindCgroup2Mount("/proc/self/mountinfo")
	if err == nil {
		return root
	}
	root = t.TempDir()
	if err := unix.Mount("cgroup2", root, "cgroup2", 0, ""); err != nil {
		skipOrFail(t, "no cgroup v2 hierarchy and none can be mounted: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(root, unix.MNT_DETACH) })
	return root
}

func (c podContainer) pod() *corev1.Pod {
	controller := true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            "xwing-5d8f7c9b4-x7k2p",
			Namespace:       "default",
			UID:             types.UID(c.podUID),
			ResourceVersion: "1",
			Labels:          map[string]string{"app": "xwing", "pod-template-hash": "5d8f7c9b4", "secret": "s3"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "xwing-5d8f7c9b4", UID: "rs-uid", Controller: &controller,
			}},
		},
		Spec: corev1.PodSpec{
			NodeName:   testNode,
			Containers: []corev1.Container{{Name: "spaceship", Image: "docker.io/tgraf/netperf:v2.7"}},
		},
		Status: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "spaceship", ContainerID: "containerd://" + c.id, Image: "docker.io/tgraf/netperf:v2.7",
			}},
		},
	}
}

func withKubernetes(include string) func(*Config) {
	return func(c *Config) {
		c.IncludePaths = []string{include}
		c.Kubernetes.Enabled = true
		c.Kubernetes.NodeName = testNode
		c.Kubernetes.Labels = []string{"app"}
	}
}

func withClient(client kubernetes.Interface) func(*fileAccessReceiver) {
	return func(r *fileAccessReceiver) {
		r.kubeClient = func() (kubernetes.Interface, error) { return client, nil }
	}
}

// TestContainerRecordsCarryTheirPod: a workload in a cgroup laid out as
// kubelet does for a pod's container, in a mount namespace and root of its
// own, reads its /etc/passwd; the record has the container's view of the path
// and the pod as its resource.
func TestContainerRecordsCarryTheirPod(t *testing.T) {
	c := newPodContainer(t)
	client := fake.NewClientset(c.pod())
	r := startReceiverWith(t, withKubernetes("/etc/passwd"), nil, withClient(client))

	pid := runWorkloadChild(t, "container-read", c.root, c.cgroup)
	resource, a := waitForResource(t, r.sink, "the container's read", func(a access) bool {
		return a.event == "file_access.read" && a.pid == int64(pid)
	})
	assert.Equal(t, "/etc/passwd", a.path)
	assert.Equal(t, "📚 read     default/xwing-5d8f7c9b4-x7k2p "+testBinary(t)+" /etc/passwd", a.body)
	assert.Equal(t, map[string]any{
		"host.name":              r.rcv.hostName,
		"container.id":           c.id,
		"container.runtime.name": "containerd",
		"container.image.name":   "docker.io/tgraf/netperf",
		"container.image.tags":   []any{"v2.7"},
		"k8s.namespace.name":     "default",
		"k8s.pod.name":           "xwing-5d8f7c9b4-x7k2p",
		"k8s.pod.uid":            c.podUID,
		"k8s.container.name":     "spaceship",
		"k8s.node.name":          testNode,
		"k8s.replicaset.name":    "xwing-5d8f7c9b4",
		"k8s.deployment.name":    "xwing",
		"k8s.pod.label.app":      "xwing",
	}, resource)
}

// TestRecordsWaitForAPodNotYetKnown: a container's records that arrive before
// the pod watch has its pod are held, and leave with the pod once it is seen.
func TestRecordsWaitForAPodNotYetKnown(t *testing.T) {
	c := newPodContainer(t)
	client := fake.NewClientset()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	r := startReceiverWith(t, func(cfg *Config) {
		withKubernetes("/etc/passwd")(cfg)
		cfg.Kubernetes.PodWait = 10 * time.Second
	}, tel, withClient(client))

	pid := runWorkloadChild(t, "container-read", c.root, c.cgroup)
	time.Sleep(500 * time.Millisecond) // the record is held meanwhile
	for _, a := range fileAccesses(r.sink) {
		require.NotEqual(t, int64(pid), a.pid, "the record left before its pod was known")
	}
	_, err := client.CoreV1().Pods("default").Create(context.Background(), c.pod(), metav1.CreateOptions{})
	require.NoError(t, err)

	resource, a := waitForResource(t, r.sink, "the held read", func(a access) bool {
		return a.event == "file_access.read" && a.pid == int64(pid)
	})
	assert.Equal(t, "xwing-5d8f7c9b4-x7k2p", resource["k8s.pod.name"])
	assert.Contains(t, a.body, " default/xwing-5d8f7c9b4-x7k2p /", "the pod is put in the body on release")
	assert.Equal(t, int64(0), withoutPod(t, tel, r.rcv))
}

// TestRecordsOfAnUnknownPodLeaveAfterTheWait: a container no pod claims (a
// runtime's container outside Kubernetes) has its records handed on after
// pod_wait with its container id, and counted.
func TestRecordsOfAnUnknownPodLeaveAfterTheWait(t *testing.T) {
	c := newPodContainer(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	r := startReceiverWith(t, func(cfg *Config) {
		withKubernetes("/etc/passwd")(cfg)
		cfg.Kubernetes.PodWait = 300 * time.Millisecond
	}, tel, withClient(fake.NewClientset()))

	pid := runWorkloadChild(t, "container-read", c.root, c.cgroup)
	resource, _ := waitForResource(t, r.sink, "the read without a pod", func(a access) bool {
		return a.event == "file_access.read" && a.pid == int64(pid)
	})
	assert.Equal(t, c.id, resource["container.id"])
	assert.NotContains(t, resource, "k8s.pod.name")
	assert.Eventually(t, func() bool { return withoutPod(t, tel, r.rcv) >= 1 }, 5*time.Second, 20*time.Millisecond)
}

func withoutPod(t *testing.T, tel *componenttest.Telemetry, r *fileAccessReceiver) int64 {
	return counterSum(t, tel, "otelcol_receiver_file_access_records_without_pod", r.set.ID.String(), "")
}

// waitForResource waits for a record that matches and returns its
// resource's attributes with it.
func waitForResource(t *testing.T, sink *consumertest.LogsSink, what string, match func(access) bool) (map[string]any, access) {
	t.Helper()
	var resource map[string]any
	var found access
	require.Eventually(t, func() bool {
		resource, found = findRecord(sink, match)
		return resource != nil
	}, 10*time.Second, 20*time.Millisecond, "no record of %s", what)
	return resource, found
}

func findRecord(sink *consumertest.LogsSink, match func(access) bool) (map[string]any, access) {
	for _, logs := range sink.AllLogs() {
		for _, rl := range logs.ResourceLogs().All() {
			if a, ok := firstMatch(rl, match); ok {
				return rl.Resource().Attributes().AsRaw(), a
			}
		}
	}
	return nil, access{}
}

func firstMatch(rl plog.ResourceLogs, match func(access) bool) (access, bool) {
	for _, sl := range rl.ScopeLogs().All() {
		for _, lr := range sl.LogRecords().All() {
			if a := toAccess(lr); match(a) {
				return a, true
			}
		}
	}
	return access{}, false
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func uuid(t *testing.T) string {
	h := randomHex(t, 16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
