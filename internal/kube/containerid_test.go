package kube

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
)

func TestTrimRuntimeDropsAnyRuntimePrefix(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		in   string
		want string
	}{
		{"containerd://" + id, id},
		{"cri-o://" + id, id},
		{"docker://" + id, id},
		{id, id},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, trimRuntime(tt.in))
		})
	}
}

func TestPodContainerRefsCoverEveryKindOfContainer(t *testing.T) {
	pod := &corev1.Pod{Status: corev1.PodStatus{
		InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", ContainerID: "containerd://i1"}},
		ContainerStatuses: []corev1.ContainerStatus{
			{
				Name:        "app",
				ContainerID: "containerd://a2",
				LastTerminationState: corev1.ContainerState{
					Terminated: &corev1.ContainerStateTerminated{ContainerID: "containerd://a1"},
				},
			},
			{Name: "waiting"}, // not started yet: no id
		},
		EphemeralContainerStatuses: []corev1.ContainerStatus{{Name: "debug", ContainerID: "cri-o://e1"}},
	}}

	var got [][2]string
	for _, r := range podContainerRefs(pod) {
		got = append(got, [2]string{r.id, r.status.Name})
	}
	assert.Equal(t, [][2]string{{"i1", "init"}, {"a2", "app"}, {"a1", "app"}, {"e1", "debug"}}, got)
}
