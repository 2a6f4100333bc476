package probe

import (
	"fmt"
	"strings"
)

// Mode is how the programs attach to the kernel.
type Mode string

const (
	// ModeAuto tries fentry, kprobe and tracepoint in that order, cheapest first.
	ModeAuto Mode = "auto"
	// ModeFentry attaches fexit programs to the LSM file hooks (BPF trampolines).
	ModeFentry Mode = "fentry"
	// ModeKprobe attaches kprobe and kretprobe pairs to the LSM file hooks.
	ModeKprobe Mode = "kprobe"
	// ModeTracepoint attaches to the sys_exit tracepoint and resolves files
	// from the task's fd table, for kernels with neither trampolines nor kprobes.
	ModeTracepoint Mode = "tracepoint"
)

// Modes lists the modes a user can choose.
var Modes = []Mode{ModeAuto, ModeFentry, ModeKprobe, ModeTracepoint}

// ParseMode checks a mode name from the configuration.
func ParseMode(name string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == name {
			return m, nil
		}
	}
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("unknown attach mode %q: use one of %s", name, strings.Join(names, ", "))
}

// lsmHook is one kernel function the fentry and kprobe modes attach to.
type lsmHook struct {
	function  string
	required  bool // without it the mode is not worth running
	fexit     string
	kprobe    string
	kretprobe string
}

var lsmHooks = []lsmHook{
	{"security_file_permission", true, "fexit_file_permission", "kprobe_file_permission", "kretprobe_file_permission"},
	{"security_mmap_file", false, "fexit_mmap_file", "kprobe_mmap_file", "kretprobe_mmap_file"},
	{"security_path_truncate", false, "fexit_path_truncate", "kprobe_path_truncate", "kretprobe_path_truncate"},
	// Only kernels 6.2 and later have it; older ones truncate through security_path_truncate.
	{"security_file_truncate", false, "fexit_file_truncate", "kprobe_file_truncate", "kretprobe_file_truncate"},
}

// Ops are the operations a record can report, by the names users configure.
var Ops = map[string]FileaccessOp{
	"read":     FileaccessOpOP_READ,
	"write":    FileaccessOpOP_WRITE,
	"mmap":     FileaccessOpOP_MMAP,
	"truncate": FileaccessOpOP_TRUNCATE,
}
