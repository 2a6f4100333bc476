package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
)

const (
	// watchingMessage is what the receiver logs once its programs are attached.
	watchingMessage = "Watching file accesses"
	// releaseTimeout bounds how long the kernel may take to free the
	// programs of a process that has been killed: it drops them when the
	// process's descriptors are closed, and frees links after a grace period.
	releaseTimeout = 5 * time.Second
	// maxProgramName is how much of a program's name the kernel keeps
	// (BPF_OBJ_NAME_LEN less the terminating NUL).
	maxProgramName = 15
)

// killConfig runs the receiver into the debug exporter. Metrics are off, so
// that no port is opened.
const killConfig = `
receivers:
  file_access:
    include_paths: [%q]
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    logs:
      level: info
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [file_access]
      exporters: [debug]
`

// TestKilledCollectorLeavesNoBPFObjects: a collector killed with SIGKILL
// runs no Shutdown, and still nothing of it may stay in the kernel: its
// programs, links and maps are owned by its descriptors alone, never pinned.
// Other collectors and tests on the machine may have programs of the same
// names loaded at the same time, so the collector's objects are the ones its
// own descriptors hold, which must also be new since it started.
func TestKilledCollectorLeavesNoBPFObjects(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the collector loads BPF programs, and listing the kernel's needs CAP_SYS_ADMIN")
	}
	binary := os.Getenv("OTELCOL_FILEACCESS")
	if binary == "" {
		t.Skip("OTELCOL_FILEACCESS is unset: it names the collector binary `make build` makes, as `make test` sets it")
	}

	names := receiverProgramNames(t)
	before := loadedPrograms(t, names)

	cmd, output := startToKill(t, binary, fmt.Sprintf(killConfig, realTempDir(t)+"/"))
	waitForMessage(t, cmd, output, watchingMessage)

	held := heldObjects(t, cmd.Process.Pid)
	running := loadedPrograms(t, names)
	if len(held.programs) == 0 || len(held.links) == 0 || len(held.maps) == 0 {
		t.Fatalf("the collector holds no BPF objects (%+v); the check below could not fail", held)
	}
	for _, id := range held.programs {
		name, loaded := running[id]
		switch {
		case !loaded:
			t.Errorf("program %d of the collector is not among the receiver's loaded programs", id)
		case before[id] != "":
			t.Errorf("program %d (%s) of the collector was loaded before it started", id, name)
		}
	}
	left := leftovers(t, held)
	if got, want := len(left), len(held.programs)+len(held.links)+len(held.maps); got != want {
		t.Fatalf("while the collector runs, the kernel's listing shows %d of its %d objects: %v", got, want, left)
	}
	t.Logf("the collector holds programs %v (%s), links %v, %d maps",
		held.programs, programNames(running, held.programs), held.links, len(held.maps))

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing the collector: %v", err)
	}
	_ = cmd.Wait()

	deadline := time.Now().Add(releaseTimeout)
	for {
		left = leftovers(t, held)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after SIGKILL, the kernel still has the collector's %v", releaseTimeout, left)
		}
		time.Sleep(pollInterval)
	}
}

// receiverProgramNames are the names the kernel lists the receiver's
// programs by, truncated as it keeps them.
func receiverProgramNames(t *testing.T) map[string]bool {
	t.Helper()
	spec, err := probe.LoadFileaccess()
	if err != nil {
		t.Fatalf("reading the receiver's BPF object: %v", err)
	}
	names := make(map[string]bool, len(spec.Programs))
	for name := range spec.Programs {
		names[name[:min(len(name), maxProgramName)]] = true
	}
	return names
}

// loadedPrograms lists the loaded programs that carry one of names, by id.
// Each is opened only for as long as its information is read, so that the
// test itself never keeps one alive.
func loadedPrograms(t *testing.T, names map[string]bool) map[ebpf.ProgramID]string {
	t.Helper()
	programs := map[ebpf.ProgramID]string{}
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			return programs
		}
		if err != nil {
			t.Fatalf("listing BPF programs after id %d: %v", id, err)
		}
		id = next
		prog, err := ebpf.NewProgramFromID(id)
		if errors.Is(err, os.ErrNotExist) {
			continue // unloaded meanwhile
		}
		if err != nil {
			t.Fatalf("opening BPF program %d: %v", id, err)
		}
		info, err := prog.Info()
		prog.Close()
		if err != nil {
			t.Fatalf("reading BPF program %d: %v", id, err)
		}
		if names[info.Name] {
			programs[id] = info.Name
		}
	}
}

func programNames(programs map[ebpf.ProgramID]string, ids []ebpf.ProgramID) string {
	var names []string
	for _, id := range ids {
		names = append(names, programs[id])
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

// bpfObjects are the ids of the BPF programs, links and maps a process holds.
type bpfObjects struct {
	programs []ebpf.ProgramID
	links    []link.ID
	maps     []ebpf.MapID
}

// heldObjects reads which BPF objects pid's descriptors hold from
// /proc/<pid>/fdinfo: a link's lists link_id (and its program's prog_id), a
// program's prog_id alone, a map's map_id.
func heldObjects(t *testing.T, pid int) bpfObjects {
	t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fdinfo")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("listing the collector's descriptors: %v", err)
	}
	var held bpfObjects
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // closed meanwhile
		}
		if err != nil {
			t.Fatalf("reading the collector's descriptor %s: %v", e.Name(), err)
		}
		fields := fdinfoFields(string(data))
		switch {
		case fields["link_id"] != "":
			held.links = append(held.links, link.ID(parseID(t, fields["link_id"])))
		case fields["prog_id"] != "":
			held.programs = append(held.programs, ebpf.ProgramID(parseID(t, fields["prog_id"])))
		case fields["map_id"] != "":
			held.maps = append(held.maps, ebpf.MapID(parseID(t, fields["map_id"])))
		}
	}
	return held
}

func fdinfoFields(data string) map[string]string {
	fields := map[string]string{}
	for _, line := range strings.Split(data, "\n") {
		if key, value, ok := strings.Cut(line, ":"); ok {
			fields[key] = strings.TrimSpace(value)
		}
	}
	return fields
}

func parseID(t *testing.T, s string) uint32 {
	t.Helper()
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatalf("an id in fdinfo: %v", err)
	}
	return uint32(id)
}

// leftovers lists which of the objects the kernel still has, by the kernel's
// own listing; a link counts also when it runs one of the programs.
func leftovers(t *testing.T, objs bpfObjects) []string {
	t.Helper()
	var left []string
	var prog ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(prog)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			t.Fatalf("listing BPF programs after id %d: %v", prog, err)
		}
		prog = next
		if slices.Contains(objs.programs, prog) {
			left = append(left, fmt.Sprintf("program %d", prog))
		}
	}

	var m ebpf.MapID
	for {
		next, err := ebpf.MapGetNextID(m)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			t.Fatalf("listing BPF maps after id %d: %v", m, err)
		}
		m = next
		if slices.Contains(objs.maps, m) {
			left = append(left, fmt.Sprintf("map %d", m))
		}
	}

	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil {
			t.Fatalf("reading BPF link %d: %v", it.ID, err)
		}
		if slices.Contains(objs.links, it.ID) || slices.Contains(objs.programs, info.Program) {
			left = append(left, fmt.Sprintf("link %d of program %d", it.ID, info.Program))
		}
	}
	if err := it.Err(); err != nil {
		t.Fatalf("listing BPF links: %v", err)
	}
	return left
}

// startToKill starts the collector with config, to be killed by the test; a
// test that fails first kills it in its cleanup.
func startToKill(t *testing.T, binary, config string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	configFile := filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatalf("writing the configuration: %v", err)
	}
	output := &syncBuffer{}
	cmd := exec.Command(binary, "--config", configFile)
	cmd.Stdout = output
	cmd.Stderr = output
	cmd.WaitDelay = stopTimeout
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the collector: %v", err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("output of the collector:\n%s", output.String())
		}
	})
	return cmd, output
}

// waitForMessage returns once the collector has logged message, and fails
// when it exits or stays silent for too long.
func waitForMessage(t *testing.T, cmd *exec.Cmd, output *syncBuffer, message string) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for !strings.Contains(output.String(), message) {
		if cmd.ProcessState != nil || processGone(cmd.Process.Pid) {
			t.Fatalf("the collector exited before it logged %q", message)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector did not log %q within %s", message, readyTimeout)
		}
		time.Sleep(pollInterval)
	}
}

// processGone says whether pid has exited; a zombie not yet waited for
// counts as exited.
func processGone(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return strings.HasPrefix(after, "Z")
}
