package kube

import (
	"maps"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// PutResource writes c onto attrs as OpenTelemetry resource attributes:
// k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.node.name,
// k8s.container.name, container.id, container.image.name,
// container.image.tags, k8s.pod.label.<key> for each allowlisted label, and
// the k8s.<workload>.name of each owner that is known. Empty values are left
// out rather than written as empty strings.
func (c *Container) PutResource(attrs pcommon.Map) {
	putStr(attrs, string(semconv.K8SNamespaceNameKey), c.Namespace)
	putStr(attrs, string(semconv.K8SPodNameKey), c.PodName)
	putStr(attrs, string(semconv.K8SPodUIDKey), c.PodUID)
	putStr(attrs, string(semconv.K8SNodeNameKey), c.NodeName)
	putStr(attrs, string(semconv.K8SContainerNameKey), c.ContainerName)
	putStr(attrs, string(semconv.ContainerIDKey), c.ContainerID)
	putStr(attrs, string(semconv.ContainerImageNameKey), c.ImageName)
	if len(c.ImageTags) > 0 {
		tags := attrs.PutEmptySlice(string(semconv.ContainerImageTagsKey))
		tags.EnsureCapacity(len(c.ImageTags))
		for _, t := range c.ImageTags {
			tags.AppendEmpty().SetStr(t)
		}
	}
	c.putLabels(attrs)

	putStr(attrs, string(semconv.K8SDeploymentNameKey), c.Deployment)
	putStr(attrs, string(semconv.K8SStatefulSetNameKey), c.StatefulSet)
	putStr(attrs, string(semconv.K8SDaemonSetNameKey), c.DaemonSet)
	putStr(attrs, string(semconv.K8SJobNameKey), c.Job)
	putStr(attrs, string(semconv.K8SCronJobNameKey), c.CronJob)
	putStr(attrs, string(semconv.K8SReplicaSetNameKey), c.ReplicaSet)
}

// putLabels writes the allowlisted pod labels. A Container built outside this
// package has no prepared attributes, so its Labels are written in key order.
func (c *Container) putLabels(attrs pcommon.Map) {
	if c.labelAttrs != nil {
		for _, l := range c.labelAttrs {
			attrs.PutStr(l.key, l.value)
		}
		return
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		attrs.PutStr(string(semconv.K8SPodLabel(k, "").Key), c.Labels[k])
	}
}

// putStr sets key to v unless v is empty.
func putStr(attrs pcommon.Map, key, v string) {
	if v != "" {
		attrs.PutStr(key, v)
	}
}
