package kube

import "time"

// DefaultDeleteGrace is how long a container stays resolvable after its pod
// is deleted or it is replaced by a restart, when Config.DeleteGrace is zero.
// File records reach the receiver seconds after the access, and a batch can
// wait in the pipeline; two minutes covers that with room while keeping few
// pods of a busy node in memory.
const DefaultDeleteGrace = 2 * time.Minute

// maxRetired bounds the containers kept after their pod is gone. The kubelet
// runs at most a few hundred pods on a node (110 by default), so this covers
// many full turnovers within one grace period while bounding the memory to a
// few megabytes when pods churn faster than that.
const maxRetired = 4096

// Config says which pods a Watcher follows and what it keeps of them.
type Config struct {
	// NodeName is the node whose pods are watched, usually taken from the
	// downward API. Empty watches every pod of the cluster.
	NodeName string
	// Labels lists the pod label keys, compared exactly, that are copied onto
	// the resource as k8s.pod.label.<key>. Other labels are dropped.
	Labels []string
	// DeleteGrace is how long a container stays resolvable after its pod is
	// deleted or it is replaced by a restart. Zero or less selects
	// DefaultDeleteGrace.
	DeleteGrace time.Duration
}

// deleteGrace returns the grace in force.
func (c Config) deleteGrace() time.Duration {
	if c.DeleteGrace <= 0 {
		return DefaultDeleteGrace
	}
	return c.DeleteGrace
}
