// Package process keeps the table of processes the receiver knows of: one
// entry an exec of a process, keyed by its pid and the boot-clock time of the
// exec, so that a file access record finds the executable, arguments and
// credentials of the process that made it, and the exec ids that join it to
// its parent. The kernel's exec, clone and exit events fill the table; a scan
// of procfs at start adds the processes that were running before the probe.
package process
