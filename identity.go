package fileaccessreceiver

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/container"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/convert"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/kube"
)

// procRoot is where the host's processes are listed; in a DaemonSet with
// hostPID it lists the node's.
const procRoot = "/proc"

// startIdentity sets up what tells a record's container (always) and pod
// (with kubernetes.enabled). The pod watch starts without waiting for its
// first list: records are held for their pods instead, so an API server that
// cannot be reached never holds up a record for longer than pod_wait.
func (r *fileAccessReceiver) startIdentity() error {
	root := r.cfg.CgroupRoot
	if root == "" {
		found, err := container.FindCgroup2Mount(procRoot + "/self/mountinfo")
		if err != nil {
			r.set.Logger.Info("No cgroup v2 hierarchy; container ids come from /proc/<pid>/cgroup", zap.Error(err))
		}
		root = found
	}
	r.containers = container.NewResolver(root, procRoot, r.set.Logger)

	r.hold = newPodHold(r.cfg.Kubernetes.PodWait, maxHeldRecords)
	// A new pod watch counts its API errors from zero.
	r.apiErrors = 0
	if !r.cfg.Kubernetes.Enabled {
		return nil
	}
	watch := kube.Config{NodeName: r.cfg.Kubernetes.NodeName, Labels: r.cfg.Kubernetes.Labels}
	var pods *kube.Watcher
	if r.kubeClient != nil {
		client, err := r.kubeClient()
		if err != nil {
			return fmt.Errorf("connecting to the Kubernetes API for kubernetes.enabled: %w", err)
		}
		pods = kube.NewWatcher(client, watch, r.set.Logger)
	} else {
		var err error
		pods, err = kube.NewWatcherForAPI(kube.AuthType(r.cfg.Kubernetes.AuthType), r.cfg.Kubernetes.KubeConfigPath, watch, r.set.Logger)
		if err != nil {
			return fmt.Errorf("connecting to the Kubernetes API for kubernetes.enabled: %w", err)
		}
	}
	if err := pods.Start(context.Background()); err != nil {
		return fmt.Errorf("starting the pod watch of node %s: %w", r.cfg.Kubernetes.NodeName, err)
	}
	r.pods = pods
	return nil
}

// ownerOf returns whose resource the records of the task with this cgroup
// and pid go under, and whether they are to wait in the hold because their
// container's pod is not known yet.
//
// Known limitation: the container is looked up when the record is read, so a
// record of a container whose cgroup is removed before then has none.
func (r *fileAccessReceiver) ownerOf(cgroupID uint64, pid uint32, now time.Time) (o owner, held bool) {
	id, ok := r.containers.Container(cgroupID, pid)
	if !ok {
		return owner{}, false
	}
	o.container = id
	if r.pods == nil {
		return o, false
	}
	if pod, ok := r.pods.Lookup(id.ID); ok {
		o.pod = pod
		return o, false
	}
	if r.hold.accepts(id.ID, now) {
		return o, true
	}
	r.telemetry.ReceiverFileAccessRecordsWithoutPod.Add(context.Background(), 1, r.receiverAttr)
	return o, false
}

// recordsFor returns where the records of the task with this cgroup and pid
// go, as ownerOf tells: its owner's resource in the batch, or the hold; and
// the pod, when known.
func (r *fileAccessReceiver) recordsFor(b *batch, cgroupID uint64, pid uint32, now time.Time) (plog.LogRecordSlice, *kube.Container) {
	o, held := r.ownerOf(cgroupID, pid, now)
	if held {
		return r.hold.recordsOf(o.container, now), nil
	}
	return r.recordsOf(b, o), o.pod
}

// putPod names the pod in the bodies of records[first:], as the compact
// view does.
func putPod(records plog.LogRecordSlice, first int, pod *kube.Container) {
	if pod != nil {
		convert.PutPodInBodies(records, first, pod.Where)
	}
}

// releaseHeld moves held records whose pod is now known, or whose wait is
// over, into the batch.
func (r *fileAccessReceiver) releaseHeld(b *batch, now time.Time, final bool) {
	if r.pods == nil {
		return
	}
	if errs := r.pods.APIErrors(); errs > r.apiErrors {
		r.telemetry.ReceiverFileAccessKubernetesAPIErrors.Add(context.Background(), int64(errs-r.apiErrors), r.receiverAttr)
		r.apiErrors = errs
	}
	withoutPod := r.hold.release(now, final, r.pods, func(o owner, held plog.LogRecordSlice) {
		putPod(held, 0, o.pod)
		held.MoveAndAppendTo(r.recordsOf(b, o))
	})
	if withoutPod > 0 {
		r.telemetry.ReceiverFileAccessRecordsWithoutPod.Add(context.Background(), int64(withoutPod), r.receiverAttr)
	}
}
