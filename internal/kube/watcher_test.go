package kube

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	testNode = "node-a"
	// waitFor bounds how long a test waits for the informer; a reflector
	// retry after an API error takes up to 1.6 s.
	waitFor = 10 * time.Second
	tick    = 5 * time.Millisecond
)

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// testWatcher is a started Watcher on a fake API with a fake clock.
type testWatcher struct {
	*Watcher
	client *fake.Clientset
	clock  *fakeClock
	logs   *observer.ObservedLogs
}

// newTestWatcher returns a Watcher of testNode over client, not started.
func newTestWatcher(t *testing.T, client *fake.Clientset, cfg Config) *testWatcher {
	t.Helper()
	if cfg.NodeName == "" {
		cfg.NodeName = testNode
	}
	core, logs := observer.New(zapcore.DebugLevel)
	w := NewWatcher(client, cfg, zap.New(core))
	clock := newFakeClock()
	w.table.now = clock.Now
	w.checkEvery = 10 * time.Millisecond
	t.Cleanup(w.Stop)
	return &testWatcher{Watcher: w, client: client, clock: clock, logs: logs}
}

// startTestWatcher returns a Watcher of testNode that has synced with the
// fake API holding pods.
func startTestWatcher(t *testing.T, cfg Config, pods ...*corev1.Pod) *testWatcher {
	t.Helper()
	objs := make([]k8sruntime.Object, len(pods))
	for i, p := range pods {
		objs[i] = p
	}
	w := newTestWatcher(t, fake.NewClientset(objs...), cfg)
	require.NoError(t, w.Start(t.Context()))
	require.Eventually(t, w.HasSynced, waitFor, tick)
	return w
}

func (w *testWatcher) create(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	_, err := w.client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	require.NoError(t, err)
}

func (w *testWatcher) update(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	_, err := w.client.CoreV1().Pods(pod.Namespace).Update(context.Background(), pod, metav1.UpdateOptions{})
	require.NoError(t, err)
}

func (w *testWatcher) delete(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	err := w.client.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{})
	require.NoError(t, err)
}

// waitTableVersion waits until the table holds pod uid at resourceVersion.
func (w *testWatcher) waitTableVersion(t *testing.T, uid types.UID, resourceVersion string) {
	t.Helper()
	require.Eventually(t, func() bool { return w.table.current(uid, resourceVersion) }, waitFor, tick)
}

// waitRemoved waits until the table has retired the pod uid.
func (w *testWatcher) waitRemoved(t *testing.T, uid types.UID) {
	t.Helper()
	require.Eventually(t, func() bool {
		w.table.mu.RLock()
		defer w.table.mu.RUnlock()
		_, ok := w.table.pods[uid]
		return !ok
	}, waitFor, tick)
}

func (w *testWatcher) resolves(seed string) bool {
	_, ok := w.Lookup(containerID(seed))
	return ok
}

func TestWatcherFindsEveryContainerOfAPod(t *testing.T) {
	seeds := map[string]string{
		"/init": "init", "/app": "app", "/sidecar": "sidecar",
		"/sidecar-before-restart": "sidecar", "/debug": "debug",
	}
	tests := []struct {
		name   string
		before bool
	}{
		{"pod present at start", true},
		{"pod created after start", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod("web", testNode, withAllKinds)
			var w *testWatcher
			if tt.before {
				w = startTestWatcher(t, Config{}, pod)
			} else {
				w = startTestWatcher(t, Config{})
				w.create(t, pod)
			}
			w.waitTableVersion(t, pod.UID, "1")

			for seed, name := range seeds {
				c, ok := w.Lookup(containerID("web" + seed))
				require.Truef(t, ok, "container %s", seed)
				assert.Equal(t, name, c.ContainerName)
				assert.Equal(t, containerID("web"+seed), c.ContainerID)
				assert.Equal(t, "web", c.PodName)
			}
			_, ok := w.Lookup("containerd://" + containerID("web/app"))
			assert.True(t, ok, "an id with its runtime prefix resolves too")
			_, ok = w.Lookup(containerID("elsewhere/app"))
			assert.False(t, ok, "unknown id")
		})
	}
}

func TestWatcherResolvesAPodBeforeItsEventIsHandled(t *testing.T) {
	pod := testPod("web", testNode)
	w := newTestWatcher(t, fake.NewClientset(), Config{})
	// The store is filled by hand, as the informer fills it before it calls
	// the handlers; the table is left empty.
	require.NoError(t, w.informer.GetIndexer().Add(pod))

	c, ok := w.Lookup(containerID("web/app"))
	require.True(t, ok)
	assert.Equal(t, "app", c.ContainerName)
	_, ok = w.Lookup(containerID("web/other"))
	assert.False(t, ok)
}

func TestWatcherRestartedContainerKeepsItsOldIDForTheGrace(t *testing.T) {
	const grace = time.Minute
	pod := testPod("web", testNode)
	w := startTestWatcher(t, Config{DeleteGrace: grace}, pod)
	w.waitTableVersion(t, pod.UID, "1")

	// First restart: the kubelet reports the new id and the previous one as
	// the last terminated state, so both resolve.
	restart := func(rv, from, to string) {
		pod = pod.DeepCopy()
		pod.ResourceVersion = rv
		pod.Status.ContainerStatuses[0].ContainerID = "containerd://" + containerID(to)
		pod.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
			ContainerID: "containerd://" + containerID(from),
		}
		w.update(t, pod)
		w.waitTableVersion(t, pod.UID, rv)
	}
	restart("2", "web/app", "web/app-2")
	assert.True(t, w.resolves("web/app-2"), "new id")
	assert.True(t, w.resolves("web/app"), "previous id, still the last terminated")

	// Second restart: the first id leaves the status and is retired.
	restart("3", "web/app-2", "web/app-3")
	assert.True(t, w.resolves("web/app-3"))
	assert.True(t, w.resolves("web/app-2"))
	assert.True(t, w.resolves("web/app"), "retired id within the grace")

	w.clock.Advance(grace)
	assert.False(t, w.resolves("web/app"), "retired id after the grace")
	assert.True(t, w.resolves("web/app-3"))
	assert.True(t, w.resolves("web/app-2"))
}

func TestWatcherDeletedPodResolvesWithinTheGraceOnly(t *testing.T) {
	tests := []struct {
		name  string
		grace time.Duration
		want  time.Duration
	}{
		{"configured grace", 30 * time.Second, 30 * time.Second},
		{"default grace", 0, DefaultDeleteGrace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod("web", testNode)
			w := startTestWatcher(t, Config{DeleteGrace: tt.grace}, pod)
			w.waitTableVersion(t, pod.UID, "1")

			w.delete(t, pod)
			w.waitRemoved(t, pod.UID)

			w.clock.Advance(tt.want - time.Second)
			c, ok := w.Lookup(containerID("web/app"))
			require.True(t, ok, "within the grace")
			assert.Equal(t, "web", c.PodName)

			w.clock.Advance(time.Second)
			assert.False(t, w.resolves("web/app"), "after the grace")
		})
	}
}

func TestWatcherAsksOnlyForItsNodesPods(t *testing.T) {
	w := startTestWatcher(t, Config{NodeName: "node-a"})

	var lists, watches int
	for _, a := range w.client.Actions() {
		if a.GetResource() != podsResource {
			continue
		}
		switch a := a.(type) {
		case k8stesting.ListAction:
			lists++
			assert.Equal(t, "spec.nodeName=node-a", a.GetListRestrictions().Fields.String())
		case k8stesting.WatchAction:
			watches++
			assert.Equal(t, "spec.nodeName=node-a", a.GetWatchRestrictions().Fields.String())
		}
	}
	assert.Positive(t, lists, "pods were listed")
	assert.Positive(t, watches, "pods were watched")
}

func TestWatcherWithoutNodeAsksForEveryPod(t *testing.T) {
	client := fake.NewClientset()
	w := NewWatcher(client, Config{}, zap.NewNop())
	t.Cleanup(w.Stop)
	require.NoError(t, w.Start(t.Context()))
	require.Eventually(t, w.HasSynced, waitFor, tick)

	for _, a := range client.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok {
			assert.Empty(t, l.GetListRestrictions().Fields.String())
		}
	}
}

func TestWatcherIgnoresPodsOfOtherNodes(t *testing.T) {
	// The fake API does not apply field selectors, so it sends this pod; the
	// watcher must still leave it out.
	other := testPod("far", "node-b")
	mine := testPod("near", testNode)
	w := startTestWatcher(t, Config{}, other)
	w.create(t, mine)
	w.waitTableVersion(t, mine.UID, "1")

	assert.True(t, w.resolves("near/app"))
	assert.False(t, w.resolves("far/app"))
	objs, err := w.informer.GetIndexer().ByIndex(containerIDIndex, containerID("far/app"))
	require.NoError(t, err)
	assert.Empty(t, objs, "another node's pod is not indexed")
}

func TestWatcherCopiesAllowlistedLabelsAndOwners(t *testing.T) {
	pod := testPod("nightly-29512345-abcde", testNode, func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": "backup", "team": "ops", "batch.kubernetes.io/job-name": "x"}
		p.OwnerReferences = []metav1.OwnerReference{
			{APIVersion: "batch/v1", Kind: "Job", Name: "nightly-29512345", Controller: new(true)},
		}
	})
	w := startTestWatcher(t, Config{Labels: []string{"app", "team"}}, pod)
	w.waitTableVersion(t, pod.UID, "1")

	c, ok := w.Lookup(containerID(pod.Name + "/app"))
	require.True(t, ok)
	assert.Equal(t, map[string]string{"app": "backup", "team": "ops"}, c.Labels)
	assert.Equal(t, "nightly-29512345", c.Job)
	assert.Equal(t, "nightly", c.CronJob)
}

func TestWatcherBuildsContainersOncePerResourceVersion(t *testing.T) {
	w := newTestWatcher(t, fake.NewClientset(), Config{})
	pod := testPod("web", testNode)

	w.onAdd(pod)
	first, ok := w.Lookup(containerID("web/app"))
	require.True(t, ok)

	w.onUpdate(pod, pod.DeepCopy())
	same, _ := w.Lookup(containerID("web/app"))
	assert.Same(t, first, same, "same resource version")

	changed := pod.DeepCopy()
	changed.ResourceVersion = "2"
	changed.Labels = map[string]string{"app": "web"}
	w.onUpdate(pod, changed)
	rebuilt, _ := w.Lookup(containerID("web/app"))
	assert.NotSame(t, first, rebuilt, "new resource version")
}

func TestWatcherLookupHitAllocatesNothing(t *testing.T) {
	w := newTestWatcher(t, fake.NewClientset(), Config{Labels: []string{"app"}})
	w.onAdd(testPod("web", testNode))
	id := "containerd://" + containerID("web/app")

	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := w.Lookup(id); !ok {
			t.Fatal("no hit")
		}
	})
	assert.Zero(t, allocs)
}

func BenchmarkWatcherLookupHit(b *testing.B) {
	core, _ := observer.New(zapcore.InfoLevel)
	w := NewWatcher(fake.NewClientset(), Config{NodeName: testNode}, zap.New(core))
	defer w.Stop()
	w.onAdd(testPod("web", testNode))
	id := containerID("web/app")

	b.ReportAllocs()
	for b.Loop() {
		w.Lookup(id)
	}
}

func TestWatcherCountsAPIErrorsAndLogsOutageAndRecovery(t *testing.T) {
	client := fake.NewClientset()
	var failing atomic.Int32
	failing.Store(2)
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		if failing.Add(-1) >= 0 {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	pod := testPod("web", testNode)
	require.NoError(t, client.Tracker().Add(pod))
	w := newTestWatcher(t, client, Config{})
	require.NoError(t, w.Start(t.Context()))

	require.Eventually(t, func() bool { return w.APIErrors() == 2 }, waitFor, tick)
	require.Eventually(t, w.HasSynced, waitFor, tick)
	assert.True(t, w.resolves("web/app"))
	require.Eventually(t, func() bool {
		return w.logs.FilterMessage("Listing and watching pods works again").Len() == 1
	}, waitFor, tick)

	warns := w.logs.FilterLevelExact(zapcore.WarnLevel).All()
	require.Len(t, warns, 1, "one warning for the outage, not one per failure")
	assert.Contains(t, warns[0].ContextMap()["error"], "connection refused")
	assert.Equal(t, uint64(2), w.APIErrors())
}

func TestWatcherKeepsAnsweringWhileWatchesFail(t *testing.T) {
	client := fake.NewClientset()
	var failing atomic.Bool
	var open atomic.Value // the watch.Interface last handed out
	client.PrependWatchReactor("pods", func(a k8stesting.Action) (bool, watch.Interface, error) {
		if failing.Load() {
			return true, nil, errors.New("stream reset")
		}
		opts := a.(k8stesting.WatchActionImpl).ListOptions
		wi, err := client.Tracker().Watch(podsResource, a.GetNamespace(), opts)
		if err == nil {
			open.Store(wi)
		}
		return true, wi, err
	})
	pod := testPod("web", testNode)
	require.NoError(t, client.Tracker().Add(pod))
	w := newTestWatcher(t, client, Config{})
	require.NoError(t, w.Start(t.Context()))
	w.waitTableVersion(t, pod.UID, "1")

	// Closing the open watch makes the reflector relist and watch again,
	// and that new watch fails.
	failing.Store(true)
	open.Load().(watch.Interface).Stop()
	require.Eventually(t, func() bool { return w.APIErrors() >= 1 }, waitFor, tick)
	assert.True(t, w.resolves("web/app"), "the table is kept while the API fails")
	assert.Equal(t, 1, w.logs.FilterLevelExact(zapcore.WarnLevel).Len())

	// A pod created during the outage moves the resource version on, which
	// shows the recovery once the watch works again.
	failing.Store(false)
	late := testPod("late", testNode)
	require.NoError(t, client.Tracker().Add(late))
	w.waitTableVersion(t, late.UID, "1")
	require.Eventually(t, func() bool {
		return w.logs.FilterMessage("Listing and watching pods works again").Len() == 1
	}, waitFor, tick)
	assert.Equal(t, 1, w.logs.FilterLevelExact(zapcore.WarnLevel).Len())
	assert.Zero(t, w.logs.FilterLevelExact(zapcore.ErrorLevel).Len())
}

func TestWatcherStopEndsEveryGoroutine(t *testing.T) {
	before := kubeGoroutines()
	require.Empty(t, before, "goroutines left by an earlier test")

	w := startTestWatcher(t, Config{}, testPod("web", testNode))
	w.create(t, testPod("late", testNode))
	require.NotEmpty(t, kubeGoroutines(), "the check sees a running watcher")

	w.Stop()
	assert.Empty(t, kubeGoroutines())
}

func TestWatcherLifecycle(t *testing.T) {
	t.Run("start twice", func(t *testing.T) {
		w := newTestWatcher(t, fake.NewClientset(), Config{})
		require.NoError(t, w.Start(t.Context()))
		assert.ErrorContains(t, w.Start(t.Context()), "already started")
	})
	t.Run("start after stop", func(t *testing.T) {
		w := newTestWatcher(t, fake.NewClientset(), Config{})
		w.Stop()
		assert.ErrorContains(t, w.Start(t.Context()), "already stopped")
	})
	t.Run("start with a cancelled context", func(t *testing.T) {
		w := newTestWatcher(t, fake.NewClientset(), Config{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		assert.ErrorIs(t, w.Start(ctx), context.Canceled)
	})
	t.Run("stop twice and without start", func(t *testing.T) {
		w := newTestWatcher(t, fake.NewClientset(), Config{})
		w.Stop()
		w.Stop()
		assert.False(t, w.HasSynced())
	})
	t.Run("the start context ending does not stop the watch", func(t *testing.T) {
		w := newTestWatcher(t, fake.NewClientset(), Config{})
		ctx, cancel := context.WithCancel(t.Context())
		require.NoError(t, w.Start(ctx))
		cancel()
		pod := testPod("web", testNode)
		w.create(t, pod)
		w.waitTableVersion(t, pod.UID, "1")
	})
}

// kubeGoroutines returns the stacks of the running goroutines that belong to
// an informer or to this package's Watcher.
func kubeGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "k8s.io/client-go/") || strings.Contains(g, "internal/kube.(*Watcher)") {
			found = append(found, g)
		}
	}
	return found
}

func BenchmarkWatcherLookupMiss(b *testing.B) {
	w := NewWatcher(fake.NewClientset(), Config{NodeName: testNode}, zap.NewNop())
	defer w.Stop()
	w.onAdd(testPod("web", testNode))
	id := containerID("host/process")

	b.ReportAllocs()
	for b.Loop() {
		w.Lookup(id)
	}
}
