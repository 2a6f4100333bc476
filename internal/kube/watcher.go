package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// containerIDIndex names the informer index from container id to pod.
const containerIDIndex = "containerID"

// nodeNameField is the pod field the API server filters on, so that a node's
// collector lists and watches only that node's pods.
const nodeNameField = "spec.nodeName"

// recoveryCheckInterval is how often a Watcher that lost the API looks for
// its informer moving on. Events look too; the timer covers a quiet node.
const recoveryCheckInterval = 5 * time.Second

// Watcher follows the pods of one node and resolves container ids to their
// Container. Lookup is safe for concurrent use and never waits on the API.
type Watcher struct {
	cfg      Config
	logger   *zap.Logger
	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
	handler  cache.ResourceEventHandlerRegistration
	// setupErr is an error from wiring the informer, returned by Start.
	setupErr error
	table    *containerTable
	health   *apiHealth
	// checkEvery is recoveryCheckInterval; tests shorten it.
	checkEvery time.Duration

	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	// done is closed when the recovery check loop has returned.
	done chan struct{}
}

// NewWatcher returns a Watcher of the pods of cfg.NodeName through client.
// Nothing is sent to the API before Start.
func NewWatcher(client kubernetes.Interface, cfg Config, logger *zap.Logger) *Watcher {
	cfg.Labels = slices.Clone(cfg.Labels)
	w := &Watcher{
		cfg:        cfg,
		logger:     logger,
		table:      newContainerTable(cfg.deleteGrace()),
		health:     &apiHealth{logger: logger},
		checkEvery: recoveryCheckInterval,
	}

	// No resync: the table changes only when a pod does.
	w.factory = informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(w.restrictToNode))
	w.informer = w.factory.Core().V1().Pods().Informer()

	handler, err := w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    w.onAdd,
		UpdateFunc: w.onUpdate,
		DeleteFunc: w.onDelete,
	})
	w.handler = handler
	err = errors.Join(err,
		w.informer.AddIndexers(cache.Indexers{containerIDIndex: w.indexContainerIDs}),
		w.informer.SetTransform(trimPod),
		w.informer.SetWatchErrorHandlerWithContext(w.onWatchError),
	)
	if err != nil {
		w.setupErr = fmt.Errorf("setting up pod informer: %w", err)
	}
	return w
}

// Start starts watching and returns at once; Lookup finds nothing until the
// first list has arrived, which HasSynced reports. The watch runs until Stop,
// whatever becomes of ctx, which is only checked here.
func (w *Watcher) Start(ctx context.Context) error {
	if w.setupErr != nil {
		return w.setupErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("starting pod watcher: %w", err)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.stopped:
		return errors.New("starting pod watcher: already stopped")
	case w.started:
		return errors.New("starting pod watcher: already started")
	}
	w.started = true

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	w.done = make(chan struct{})
	w.factory.StartWithContext(runCtx)
	go w.checkRecoveryLoop(runCtx, w.done)

	w.logger.Info("Watching pods", zap.String("node", w.cfg.NodeName))
	return nil
}

// Stop stops watching and returns once every goroutine of the Watcher has
// ended. Lookup keeps answering from what was known. Stop may be called more
// than once, and without Start.
func (w *Watcher) Stop() {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.stopped = true
	cancel, done := w.cancel, w.done
	w.mu.Unlock()

	if cancel != nil {
		cancel()
		<-done
	}
	w.factory.Shutdown()
}

// HasSynced reports whether the first list of pods has been read into the
// table.
func (w *Watcher) HasSynced() bool {
	return w.handler != nil && w.handler.HasSynced()
}

// APIErrors returns how many lists and watches of pods have failed.
func (w *Watcher) APIErrors() uint64 {
	return w.health.errors.Load()
}

// Lookup returns the Container whose id is containerID, with or without a
// runtime prefix such as "containerd://". A container whose pod was deleted,
// or that was replaced by a restart, is still found for Config.DeleteGrace.
// A hit allocates nothing, and nor does a miss of an id that no pod has.
func (w *Watcher) Lookup(containerID string) (*Container, bool) {
	id := trimRuntime(containerID)
	if c, ok := w.table.lookup(id); ok {
		return c, true
	}
	return w.lookupStore(id)
}

// lookupStore finds id in the informer's store, which is updated before the
// event handlers run, so that a pod that has just arrived resolves at once.
// What it builds is not kept: the pod's event fills the table shortly.
func (w *Watcher) lookupStore(id string) (*Container, bool) {
	objs, err := w.informer.GetIndexer().ByIndex(containerIDIndex, id)
	if err != nil {
		return nil, false
	}
	for _, obj := range objs {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			continue
		}
		for _, c := range newContainers(pod, w.cfg.Labels) {
			if c.ContainerID == id {
				return c, true
			}
		}
	}
	return nil, false
}

// restrictToNode asks the API server for this node's pods only.
func (w *Watcher) restrictToNode(opts *metav1.ListOptions) {
	if w.cfg.NodeName != "" {
		opts.FieldSelector = fields.OneTermEqualSelector(nodeNameField, w.cfg.NodeName).String()
	}
}

// onNode reports whether pod runs on the watched node. The server applies the
// field selector; checking again keeps another node's pods out of the table
// if a server or proxy in between ignores it.
func (w *Watcher) onNode(pod *corev1.Pod) bool {
	return w.cfg.NodeName == "" || pod.Spec.NodeName == w.cfg.NodeName
}

// indexContainerIDs is the informer index function for containerIDIndex.
func (w *Watcher) indexContainerIDs(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || !w.onNode(pod) {
		return nil, nil
	}
	refs := podContainerRefs(pod)
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.id
	}
	return ids, nil
}

// onAdd adds a pod's containers to the table.
func (w *Watcher) onAdd(obj any) {
	w.health.check(w.informer.LastSyncResourceVersion(), w.informer.HasSynced())
	pod, ok := obj.(*corev1.Pod)
	if !ok || !w.onNode(pod) {
		return
	}
	if !w.table.current(pod.UID, pod.ResourceVersion) {
		w.table.set(pod.UID, pod.ResourceVersion, newContainers(pod, w.cfg.Labels))
	}
}

// onUpdate replaces a pod's containers in the table.
func (w *Watcher) onUpdate(_, obj any) {
	w.onAdd(obj)
}

// onDelete retires a pod's containers. The informer hands over a tombstone
// instead of the pod when it missed the deletion during a lost watch.
func (w *Watcher) onDelete(obj any) {
	w.health.check(w.informer.LastSyncResourceVersion(), w.informer.HasSynced())
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		w.table.remove(pod.UID)
	}
}

// onWatchError is the informer's watch error handler. It replaces the default
// one, which logs every failure.
func (w *Watcher) onWatchError(ctx context.Context, r *cache.Reflector, err error) {
	w.health.failed(ctx, err, r.LastSyncResourceVersion(), w.informer.HasSynced())
}

// checkRecoveryLoop checks for the API's recovery until ctx is done, then
// closes done.
func (w *Watcher) checkRecoveryLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(w.checkEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			w.health.check(w.informer.LastSyncResourceVersion(), w.informer.HasSynced())
		}
	}
}

// trimPod drops the parts of a pod that nothing here reads and that are often
// most of its size: managed fields and annotations.
func trimPod(obj any) (any, error) {
	if pod, ok := obj.(*corev1.Pod); ok {
		pod.ManagedFields = nil
		pod.Annotations = nil
	}
	return obj, nil
}
