package kube

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// withAllKinds gives the pod an init container, a sidecar that restarted
// once, and an ephemeral debug container.
func withAllKinds(p *corev1.Pod) {
	p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar", Image: "envoy:v1.30"})
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{
		{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "ghcr.io/dbg/tools@sha256:abcd"}},
	}
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{
		{Name: "init", ContainerID: "containerd://" + containerID(p.Name+"/init")},
	}
	p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
		Name:        "sidecar",
		ContainerID: "containerd://" + containerID(p.Name+"/sidecar"),
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ContainerID: "containerd://" + containerID(p.Name+"/sidecar-before-restart"),
		}},
	})
	p.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{
		{Name: "debug", ContainerID: "containerd://" + containerID(p.Name+"/debug")},
	}
}

func TestNewContainersTakesEachImageFromItsOwnSpec(t *testing.T) {
	pod := testPod("p", "node-a", withAllKinds)

	got := map[string]*Container{}
	for _, c := range newContainers(pod, nil) {
		got[c.ContainerID] = c
	}

	tests := []struct {
		seed, name, image string
		tags              []string
	}{
		{"p/init", "init", "busybox", []string{"latest"}},
		{"p/app", "app", "localhost:5000/shop/app", []string{"1.2"}},
		{"p/sidecar", "sidecar", "envoy", []string{"v1.30"}},
		{"p/sidecar-before-restart", "sidecar", "envoy", []string{"v1.30"}},
		{"p/debug", "debug", "ghcr.io/dbg/tools", nil},
	}
	require.Len(t, got, len(tests))
	for _, tt := range tests {
		t.Run(tt.seed, func(t *testing.T) {
			c := got[containerID(tt.seed)]
			require.NotNil(t, c)
			assert.Equal(t, tt.name, c.ContainerName)
			assert.Equal(t, tt.image, c.ImageName)
			assert.Equal(t, tt.tags, c.ImageTags)
			assert.Equal(t, "p", c.PodName)
			assert.Equal(t, testNamespace, c.Namespace)
			assert.Equal(t, "uid-p", c.PodUID)
			assert.Equal(t, "node-a", c.NodeName)
		})
	}
}

func TestNewContainersFallsBackToTheStatusImage(t *testing.T) {
	pod := testPod("p", "node-a", func(p *corev1.Pod) {
		p.Spec.Containers = nil
		p.Status.ContainerStatuses[0].Image = "docker.io/library/redis:7"
	})

	c := newContainers(pod, nil)[0]
	assert.Equal(t, "docker.io/library/redis", c.ImageName)
	assert.Equal(t, []string{"7"}, c.ImageTags)
}

func TestNewContainersCopiesOnlyAllowlistedLabels(t *testing.T) {
	labels := map[string]string{"app": "web", "team": "pay", "app.kubernetes.io/name": "web", "secret": "x"}
	tests := []struct {
		name      string
		allowlist []string
		want      map[string]string
	}{
		{"no allowlist copies nothing", nil, nil},
		{"exact keys only", []string{"app", "app.kubernetes.io/name"},
			map[string]string{"app": "web", "app.kubernetes.io/name": "web"}},
		{"prefix is not a wildcard", []string{"app.kubernetes.io/"}, nil},
		{"absent key is skipped", []string{"team", "owner"}, map[string]string{"team": "pay"}},
		{"repeated key is copied once", []string{"team", "team"}, map[string]string{"team": "pay"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod("p", "node-a", func(p *corev1.Pod) { p.Labels = labels })
			c := newContainers(pod, tt.allowlist)[0]
			assert.Equal(t, tt.want, c.Labels)
			assert.Len(t, c.labelAttrs, len(tt.want))
		})
	}
}

func TestNewContainersSkipsPodsWithoutStartedContainers(t *testing.T) {
	pod := testPod("p", "node-a", func(p *corev1.Pod) { p.Status = corev1.PodStatus{} })
	assert.Empty(t, newContainers(pod, nil))
}
