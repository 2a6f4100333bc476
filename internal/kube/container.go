package kube

import (
	"slices"
	"strings"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	corev1 "k8s.io/api/core/v1"
)

// Container is what is known of one container of a pod. A Container returned
// by Lookup is shared by every caller and must not be changed.
type Container struct {
	// Namespace is the pod's namespace.
	Namespace string
	// PodName is the pod's name.
	PodName string
	// Where is "namespace/pod", as record bodies show it.
	Where string
	// PodUID is the pod's UID.
	PodUID string
	// NodeName is the node the pod is scheduled on.
	NodeName string
	// ContainerName is the container's name in the pod spec.
	ContainerName string
	// ContainerID is the container's runtime id without the runtime prefix.
	ContainerID string
	// ImageName is the image reference from the pod spec without tag and
	// digest, registry and port included.
	ImageName string
	// ImageTags holds the image tag, "latest" when the reference names
	// neither tag nor digest, and nothing when it names only a digest.
	ImageTags []string
	// Labels holds the pod labels whose keys are in Config.Labels.
	Labels map[string]string
	// Deployment names the Deployment that owns the pod's ReplicaSet.
	Deployment string
	// StatefulSet names the StatefulSet that owns the pod.
	StatefulSet string
	// DaemonSet names the DaemonSet that owns the pod.
	DaemonSet string
	// Job names the Job that owns the pod.
	Job string
	// CronJob names the CronJob that made the pod's Job.
	CronJob string
	// ReplicaSet names the ReplicaSet that owns the pod.
	ReplicaSet string

	// labelAttrs holds Labels with their attribute keys built once, in key
	// order, so that PutResource neither concatenates nor sorts.
	labelAttrs []labelAttr
}

// labelAttr is one allowlisted pod label as a resource attribute.
type labelAttr struct {
	key   string
	value string
}

// newContainers returns a Container for every container id of pod, built
// together so that the pod-wide parts are computed once.
func newContainers(pod *corev1.Pod, labelKeys []string) []*Container {
	refs := podContainerRefs(pod)
	if len(refs) == 0 {
		return nil
	}
	labels, attrs := allowedLabels(pod.Labels, labelKeys)
	owners := workloadOf(pod)

	out := make([]*Container, 0, len(refs))
	for _, ref := range refs {
		image := specImage(pod, ref.status.Name)
		if image == "" {
			// The spec always names the image; the status is a fallback for
			// objects that lack it.
			image = ref.status.Image
		}
		name, tags := parseImage(image)
		out = append(out, &Container{
			Namespace:     pod.Namespace,
			PodName:       pod.Name,
			Where:         pod.Namespace + "/" + pod.Name,
			PodUID:        string(pod.UID),
			NodeName:      pod.Spec.NodeName,
			ContainerName: ref.status.Name,
			ContainerID:   ref.id,
			ImageName:     name,
			ImageTags:     tags,
			Labels:        labels,
			Deployment:    owners.deployment,
			StatefulSet:   owners.statefulSet,
			DaemonSet:     owners.daemonSet,
			Job:           owners.job,
			CronJob:       owners.cronJob,
			ReplicaSet:    owners.replicaSet,
			labelAttrs:    attrs,
		})
	}
	return out
}

// specImage returns the image the pod spec gives the container called name.
func specImage(pod *corev1.Pod, name string) string {
	for _, list := range [...][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return list[i].Image
			}
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if pod.Spec.EphemeralContainers[i].Name == name {
			return pod.Spec.EphemeralContainers[i].Image
		}
	}
	return ""
}

// allowedLabels returns the labels whose keys are in keys, as a map and as
// attributes in key order; both are nil when none is present.
func allowedLabels(labels map[string]string, keys []string) (map[string]string, []labelAttr) {
	var kept map[string]string
	var attrs []labelAttr
	for _, k := range keys {
		v, ok := labels[k]
		if !ok {
			continue
		}
		if kept == nil {
			kept = make(map[string]string, len(keys))
		}
		if _, dup := kept[k]; dup {
			continue
		}
		kept[k] = v
		attrs = append(attrs, labelAttr{key: string(semconv.K8SPodLabel(k, v).Key), value: v})
	}
	slices.SortFunc(attrs, func(a, b labelAttr) int { return strings.Compare(a.key, b.key) })
	return kept, attrs
}
