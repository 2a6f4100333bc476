package kube

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPutResourceWritesSemanticConventionAttributes(t *testing.T) {
	c := newContainers(testPod("web-7d9c8b6f5d-x2x4q", "node-a", func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": "web", "pod-template-hash": "7d9c8b6f5d", "secret": "no"}
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-7d9c8b6f5d"}}
	}), []string{"app", "pod-template-hash"})[0]

	attrs := pcommon.NewMap()
	c.PutResource(attrs)

	want := map[string]any{
		"k8s.namespace.name":              "shop",
		"k8s.pod.name":                    "web-7d9c8b6f5d-x2x4q",
		"k8s.pod.uid":                     "uid-web-7d9c8b6f5d-x2x4q",
		"k8s.node.name":                   "node-a",
		"k8s.container.name":              "app",
		"container.id":                    containerID("web-7d9c8b6f5d-x2x4q/app"),
		"container.image.name":            "localhost:5000/shop/app",
		"container.image.tags":            []any{"1.2"},
		"k8s.pod.label.app":               "web",
		"k8s.pod.label.pod-template-hash": "7d9c8b6f5d",
		"k8s.deployment.name":             "web",
		"k8s.replicaset.name":             "web-7d9c8b6f5d",
	}
	for k, v := range want {
		got, ok := attrs.Get(k)
		if assert.Truef(t, ok, "attribute %s missing", k) {
			assert.Equalf(t, v, got.AsRaw(), "attribute %s", k)
		}
	}
	assert.Equal(t, len(want), attrs.Len(), "attributes: %v", attrs.AsRaw())
}

func TestPutResourceLeavesOutWhatIsNotKnown(t *testing.T) {
	c := &Container{Namespace: "ns", PodName: "p", ContainerID: "abc", StatefulSet: "db"}

	attrs := pcommon.NewMap()
	c.PutResource(attrs)

	assert.Equal(t, map[string]any{
		"k8s.namespace.name":   "ns",
		"k8s.pod.name":         "p",
		"container.id":         "abc",
		"k8s.statefulset.name": "db",
	}, attrs.AsRaw())
}

func TestPutResourceWritesLabelsOfAContainerBuiltByHand(t *testing.T) {
	c := &Container{Labels: map[string]string{"team": "pay", "app": "api"}}

	attrs := pcommon.NewMap()
	c.PutResource(attrs)

	assert.Equal(t, map[string]any{
		"k8s.pod.label.app":  "api",
		"k8s.pod.label.team": "pay",
	}, attrs.AsRaw())
}

func TestPutResourceCoversEveryWorkloadKind(t *testing.T) {
	c := &Container{
		Deployment: "d", StatefulSet: "s", DaemonSet: "ds", Job: "j", CronJob: "cj", ReplicaSet: "rs",
	}

	attrs := pcommon.NewMap()
	c.PutResource(attrs)

	assert.Equal(t, map[string]any{
		"k8s.deployment.name":  "d",
		"k8s.statefulset.name": "s",
		"k8s.daemonset.name":   "ds",
		"k8s.job.name":         "j",
		"k8s.cronjob.name":     "cj",
		"k8s.replicaset.name":  "rs",
	}, attrs.AsRaw())
}
