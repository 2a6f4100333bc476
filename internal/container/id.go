package container

// Runtimes, as reported in ID.Runtime. The values are those of the
// container.runtime semantic convention.
const (
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimeDocker     = "docker"
	RuntimePodman     = "podman"

	// RuntimeUnknown is the runtime of a container whose cgroup name does
	// not say it: kubelet's cgroupfs driver names the container's cgroup
	// by the bare id under both containerd and cri-dockerd.
	RuntimeUnknown = ""
)

// ID is the identity of a container.
type ID struct {
	// ID is the full container id, 64 lowercase hex characters, without a
	// runtime prefix such as "containerd://": the form Kubernetes' pod
	// status carries after that prefix and the k8sattributes processor
	// matches on.
	ID string

	// Runtime is one of the Runtime constants.
	Runtime string
}
