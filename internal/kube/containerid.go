package kube

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// runtimeSeparator ends the runtime name the kubelet puts before a container
// id in pod status, as in "containerd://<id>" or "cri-o://<id>".
const runtimeSeparator = "://"

// trimRuntime returns id without its runtime prefix: the receiver knows the
// bare id, read from the cgroup path, and not which runtime made it.
func trimRuntime(id string) string {
	if i := strings.Index(id, runtimeSeparator); i >= 0 {
		return id[i+len(runtimeSeparator):]
	}
	return id
}

// containerRef is one container id of a pod with the status it was read from.
type containerRef struct {
	id     string
	status *corev1.ContainerStatus
}

// podContainerRefs returns the ids of every container of pod, init and
// ephemeral ones included. The id a container had before its last restart is
// returned too, since that instance's records may still be on their way; ids
// the runtime has not reported yet are skipped.
func podContainerRefs(pod *corev1.Pod) []containerRef {
	var refs []containerRef
	for _, list := range [...][]corev1.ContainerStatus{
		pod.Status.InitContainerStatuses,
		pod.Status.ContainerStatuses,
		pod.Status.EphemeralContainerStatuses,
	} {
		for i := range list {
			st := &list[i]
			if id := trimRuntime(st.ContainerID); id != "" {
				refs = append(refs, containerRef{id: id, status: st})
			}
			if term := st.LastTerminationState.Terminated; term != nil {
				if id := trimRuntime(term.ContainerID); id != "" {
					refs = append(refs, containerRef{id: id, status: st})
				}
			}
		}
	}
	return refs
}
