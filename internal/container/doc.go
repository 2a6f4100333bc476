// Package container tells which container a task runs in, from the cgroup v2
// id the kernel programs report with each file access and the task's pid.
//
// The cgroup path names the container: each runtime, under the systemd or the
// cgroupfs driver, gives its container's cgroup a name that holds the
// container's 64-hex id. FromCgroupPath and FromProcCgroup read those names;
// a Resolver maps a cgroup id to its path, and so to its container, with a
// bounded cache so that the common case costs no system call.
//
// Known limitation: the receiver must run in the host's cgroup namespace and
// see the host's cgroup2 mount; in a private cgroup namespace the paths in
// /proc/PID/cgroup are relative to that namespace and the tree it can walk is
// only its own, so containers outside it are not found.
package container
