package container

import "strings"

// idLen is the length of a container id: the hex form of a 256-bit digest,
// which every runtime here uses as its id.
const idLen = 64

// systemdScopeSuffix ends the name of a transient systemd unit; the systemd
// cgroup driver puts each container in one.
const systemdScopeSuffix = ".scope"

// namedPrefix is a cgroup name prefix that a runtime puts before the
// container's id.
type namedPrefix struct {
	prefix  string
	runtime string
	// scopeOnly says the name exists only as a systemd scope, so the same
	// prefix without ".scope" is not this runtime's.
	scopeOnly bool
}

// namedPrefixes lists the names runtimes give a container's cgroup. The
// conmon monitors of CRI-O ("crio-conmon-ID") and Podman
// ("libpod-conmon-ID") do not match, since "conmon-ID" is not an id: conmon
// is the runtime's process watching the container, not a process of the
// container, and its accesses (the container's log, for one) are the
// runtime's.
var namedPrefixes = []namedPrefix{
	{prefix: "cri-containerd-", runtime: RuntimeContainerd, scopeOnly: true},
	{prefix: "crio-", runtime: RuntimeCRIO},
	{prefix: "docker-", runtime: RuntimeDocker, scopeOnly: true},
	{prefix: "libpod-", runtime: RuntimePodman},
}

// FromCgroupPath returns the container whose cgroup path, as in
// /proc/PID/cgroup, is path, and false when path is not in a container.
//
// A container is named by one path component: "<prefix><id>" or
// "<prefix><id>.scope" for the prefixes of containerd's CRI plugin, CRI-O,
// Docker and Podman; the bare id only under "docker" (Docker's cgroupfs
// driver) or under a pod's cgroup "pod<uid>" within "kubepods" (kubelet's
// cgroupfs driver, whose runtime is RuntimeUnknown). Anything else holding 64
// hex characters is not a container.
//
// When several components name a container, the last one wins. The outer ones
// are the hosts of a nested runtime, such as a kind or k3d node running
// Kubernetes in a Docker container, or Docker in Docker; the innermost is the
// container the task runs in, whose file system view its accesses were made
// in and whose id the nested Kubernetes reports. Components below it, such as
// "init.scope" of a container running systemd or "container" of a Podman
// container, name no container and change nothing.
func FromCgroupPath(path string) (ID, bool) {
	var found ID
	var ok bool
	var parent string
	inKubepods := false
	for _, name := range strings.Split(path, "/") {
		if name == "" {
			continue
		}
		if id, match := fromComponent(name, parent, inKubepods); match {
			found, ok = id, true
		}
		if strings.HasPrefix(name, "kubepods") {
			inKubepods = true
		}
		parent = name
	}
	return found, ok
}

// fromComponent returns the container that the path component name names,
// given the component before it and whether a kubepods component came
// before.
func fromComponent(name, parent string, inKubepods bool) (ID, bool) {
	base, scoped := strings.CutSuffix(name, systemdScopeSuffix)
	for _, p := range namedPrefixes {
		rest, match := strings.CutPrefix(base, p.prefix)
		if !match || (p.scopeOnly && !scoped) || !isContainerID(rest) {
			continue
		}
		return ID{ID: rest, Runtime: p.runtime}, true
	}

	if scoped || !isContainerID(name) {
		return ID{}, false
	}
	switch {
	case parent == "docker":
		return ID{ID: name, Runtime: RuntimeDocker}, true
	case inKubepods && isPodCgroup(parent):
		return ID{ID: name, Runtime: RuntimeUnknown}, true
	}
	return ID{}, false
}

// isContainerID says whether s is exactly 64 lowercase hex characters.
func isContainerID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isPodCgroup says whether name is the cgroupfs driver's cgroup of a pod,
// "pod" and the pod's uid: a UUID, or for a static pod the hex hash kubelet
// uses as its uid.
func isPodCgroup(name string) bool {
	uid, ok := strings.CutPrefix(name, "pod")
	if !ok || uid == "" {
		return false
	}
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && c != '-' {
			return false
		}
	}
	return true
}
