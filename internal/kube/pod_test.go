package kube

import (
	"crypto/sha256"
	"encoding/hex"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// testNamespace is the namespace of every test pod.
const testNamespace = "shop"

// containerID returns a 64-hex container id that is the same for the same
// seed, as a runtime's would be for one container instance.
func containerID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])
}

// testPod returns a running pod on node with one container "app", whose id is
// containerID(name+"/app"), changed by each of opts in turn.
func testPod(name, node string, opts ...func(*corev1.Pod)) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       testNamespace,
			Name:            name,
			UID:             types.UID("uid-" + name),
			ResourceVersion: "1",
		},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "app", Image: "localhost:5000/shop/app:1.2"}},
		},
		Status: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", ContainerID: "containerd://" + containerID(name+"/app")},
			},
		},
	}
	for _, opt := range opts {
		opt(pod)
	}
	return pod
}
