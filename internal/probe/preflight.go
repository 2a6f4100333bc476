package probe

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Linux capability numbers, from include/uapi/linux/capability.h.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// Preflight checks what loading needs before anything is loaded, so that the
// error names what is missing instead of a bare EPERM from the kernel.
func Preflight() error {
	effective, err := effectiveCapabilities("/proc/self/status")
	if err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	if err := checkCapabilities(effective); err != nil {
		return err
	}
	if _, err := btf.LoadKernelSpec(); err != nil {
		return fmt.Errorf("kernel BTF is not available at /sys/kernel/btf/vmlinux (the kernel needs CONFIG_DEBUG_INFO_BTF=y): %w", err)
	}
	return nil
}

// checkCapabilities accepts CAP_BPF with CAP_PERFMON (kernel 5.8 and later),
// or CAP_SYS_ADMIN, which implies both.
func checkCapabilities(effective uint64) error {
	has := func(capability uint) bool { return effective&(1<<capability) != 0 }
	if has(capSysAdmin) || (has(capBPF) && has(capPerfmon)) {
		return nil
	}

	var missing []string
	if !has(capBPF) {
		missing = append(missing, "CAP_BPF")
	}
	if !has(capPerfmon) {
		missing = append(missing, "CAP_PERFMON")
	}
	return fmt.Errorf("missing capabilities %s (or CAP_SYS_ADMIN): run the collector as root or grant them, e.g. with setcap or a container securityContext",
		strings.Join(missing, " and "))
}

func effectiveCapabilities(statusFile string) (uint64, error) {
	f, err := os.Open(statusFile)
	if err != nil {
		return 0, err
	}
	defer f.Close()

	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		value, found := strings.CutPrefix(scanner.Text(), "CapEff:")
		if found {
			return strconv.ParseUint(strings.TrimSpace(value), 16, 64)
		}
	}
	if err := scanner.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no CapEff line in " + statusFile)
}
