package fileaccessreceiver

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"time"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
)

// Ring buffer bounds: the kernel wants a power of two and a multiple of the
// page size; the smallest must hold the largest record (two 4 KiB paths and a
// header); above 1 GiB is far past any sensible node-local buffer.
const (
	minRingBufferSize = 16 << 10
	maxRingBufferSize = 1 << 30
)

// minFlushInterval keeps an idle receiver from spinning on its own timer.
const minFlushInterval = 10 * time.Millisecond

// Config is the file_access receiver's configuration.
type Config struct {
	// Attach is the attach mode: auto, fentry, kprobe or tracepoint.
	Attach string `mapstructure:"attach"`
	// IncludePaths are the watched path prefixes. A prefix matches whole path
	// components: /etc matches /etc and /etc/passwd, never /etcd.
	IncludePaths []string `mapstructure:"include_paths"`
	// ExcludePaths carve paths out of IncludePaths. For a path under both, the
	// longer prefix decides.
	ExcludePaths []string `mapstructure:"exclude_paths"`
	// Operations are the reported operations: read, write, mmap, truncate.
	Operations []string `mapstructure:"operations"`
	// RingBufferSize is the size in bytes of the kernel-to-collector ring buffer.
	RingBufferSize int `mapstructure:"ring_buffer_size"`
	// MaxBatchSize is how many records are handed to the next consumer at most at once.
	MaxBatchSize int `mapstructure:"max_batch_size"`
	// FlushInterval is the longest a record waits before its batch is handed on.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// ProcessEvents says which exec and exit records to emit: all, watched
	// (processes that touched a watched path) or none.
	ProcessEvents string `mapstructure:"process_events"`
	// IncludeCommandArgs puts each process's arguments on its records.
	IncludeCommandArgs bool `mapstructure:"include_command_args"`
	// ExcludeContainerInit leaves out, in the kernel, the records of
	// processes in a container's init tree: its pid 1 and what that forks.
	ExcludeContainerInit bool `mapstructure:"exclude_container_init"`
	// CgroupRoot is where the host's cgroup v2 hierarchy is mounted; empty
	// finds it in /proc/self/mountinfo.
	CgroupRoot string `mapstructure:"cgroup_root"`
	// Kubernetes adds the pod of each container to its records.
	Kubernetes KubernetesConfig `mapstructure:"kubernetes"`
	// Dedup makes repeated identical accesses one record.
	Dedup DedupConfig `mapstructure:"dedup"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// KubernetesConfig says how to find the pods of this node.
type KubernetesConfig struct {
	// Enabled turns pod identity on; without it records carry container ids only.
	Enabled bool `mapstructure:"enabled"`
	// AuthType is how to reach the API server: serviceAccount, kubeConfig or none.
	AuthType string `mapstructure:"auth_type"`
	// KubeConfigPath is the kubeconfig file for auth_type kubeConfig; empty
	// uses $KUBECONFIG or ~/.kube/config.
	KubeConfigPath string `mapstructure:"kube_config_path"`
	// NodeName is this node's name, usually ${env:K8S_NODE_NAME} set from
	// the downward API; only its pods are watched.
	NodeName string `mapstructure:"node_name"`
	// Labels are the pod label keys copied to records as k8s.pod.label.<key>.
	Labels []string `mapstructure:"labels"`
	// PodWait is how long records of a container whose pod is not known yet
	// are held for it before they are handed on without it.
	PodWait time.Duration `mapstructure:"pod_wait"`
}

// DedupConfig makes the accesses of one process to one file with one
// operation within one window a single record, counted in the kernel.
type DedupConfig struct {
	// Window is the length of a window; 0 turns dedup off.
	Window time.Duration `mapstructure:"window"`
}

// Dedup window bounds: below a flush interval a window saves little; a record
// waits for its window to end, and past a minute that is no longer timely.
const (
	minDedupWindow = minFlushInterval
	maxDedupWindow = time.Minute
)

// maxPodWait bounds how long records are held for their pod: they are held in
// memory and a record's timeliness matters more than its pod beyond that.
const maxPodWait = time.Minute

func createDefaultConfig() *Config {
	return &Config{
		Attach:             string(probe.ModeAuto),
		IncludePaths:       []string{"/etc/"},
		Operations:         []string{"read", "write", "mmap", "truncate"},
		RingBufferSize:     8 << 20,
		MaxBatchSize:       1024,
		FlushInterval:      200 * time.Millisecond,
		ProcessEvents:      string(processEventsWatched),
		IncludeCommandArgs: true,
		Kubernetes: KubernetesConfig{
			AuthType: authTypeServiceAccount,
			PodWait:  2 * time.Second,
		},
	}
}

// Validate checks the configuration; every error names the field at fault.
func (cfg *Config) Validate() error {
	var errs []error
	if _, err := probe.ParseMode(cfg.Attach); err != nil {
		errs = append(errs, fmt.Errorf("attach: %w", err))
	}

	if len(cfg.IncludePaths) == 0 {
		errs = append(errs, errors.New("include_paths: name at least one prefix to watch, e.g. /etc/"))
	}
	include, err := normalizePrefixes("include_paths", cfg.IncludePaths)
	errs = append(errs, err)
	exclude, err := normalizePrefixes("exclude_paths", cfg.ExcludePaths)
	errs = append(errs, err)
	if n := len(include) + len(exclude); n > probe.MaxPrefixes {
		errs = append(errs, fmt.Errorf("include_paths and exclude_paths: %d prefixes, the kernel filter holds at most %d", n, probe.MaxPrefixes))
	}
	for _, p := range exclude {
		if contains(include, p) {
			errs = append(errs, fmt.Errorf("exclude_paths: %q is also in include_paths", p))
		}
	}

	if len(cfg.Operations) == 0 {
		errs = append(errs, errors.New("operations: name at least one of read, write, mmap, truncate"))
	}
	if _, err := cfg.ops(); err != nil {
		errs = append(errs, err)
	}

	if _, err := parseProcessEvents(cfg.ProcessEvents); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, validateRingBufferSize(cfg.RingBufferSize))
	if cfg.MaxBatchSize <= 0 {
		errs = append(errs, fmt.Errorf("max_batch_size: %d, it must be positive", cfg.MaxBatchSize))
	}
	if cfg.FlushInterval < minFlushInterval {
		errs = append(errs, fmt.Errorf("flush_interval: %v, it must be at least %v", cfg.FlushInterval, minFlushInterval))
	}
	if cfg.CgroupRoot != "" && !filepath.IsAbs(cfg.CgroupRoot) {
		errs = append(errs, fmt.Errorf("cgroup_root: %q is not an absolute path", cfg.CgroupRoot))
	}
	errs = append(errs, cfg.Kubernetes.validate())
	if w := cfg.Dedup.Window; w != 0 && (w < minDedupWindow || w > maxDedupWindow) {
		errs = append(errs, fmt.Errorf("dedup.window: %v, it must be 0 (off) or between %v and %v", w, minDedupWindow, maxDedupWindow))
	}
	return errors.Join(errs...)
}

// The auth_type values, spelled as the collector's other Kubernetes components spell them.
const (
	authTypeServiceAccount = "serviceAccount"
	authTypeKubeConfig     = "kubeConfig"
	authTypeNone           = "none"
)

func (k *KubernetesConfig) validate() error {
	if !k.Enabled {
		return nil
	}
	var errs []error
	switch k.AuthType {
	case authTypeServiceAccount, authTypeKubeConfig, authTypeNone:
	default:
		errs = append(errs, fmt.Errorf("kubernetes.auth_type: unknown value %q: use serviceAccount, kubeConfig or none", k.AuthType))
	}
	if k.NodeName == "" {
		errs = append(errs, errors.New("kubernetes.node_name: empty; set it to this node's name, e.g. ${env:K8S_NODE_NAME} with K8S_NODE_NAME from the downward API (spec.nodeName)"))
	}
	if k.PodWait < 0 || k.PodWait > maxPodWait {
		errs = append(errs, fmt.Errorf("kubernetes.pod_wait: %v, it must be between 0 and %v", k.PodWait, maxPodWait))
	}
	for i, label := range k.Labels {
		if label == "" {
			errs = append(errs, fmt.Errorf("kubernetes.labels[%d]: empty label key", i))
		}
	}
	return errors.Join(errs...)
}

func validateRingBufferSize(size int) error {
	page := os.Getpagesize()
	switch {
	case size < minRingBufferSize || size > maxRingBufferSize:
		return fmt.Errorf("ring_buffer_size: %d bytes, it must be between %d and %d", size, minRingBufferSize, maxRingBufferSize)
	case bits.OnesCount(uint(size)) != 1:
		return fmt.Errorf("ring_buffer_size: %d is not a power of two, which the kernel requires (e.g. %d)", size, 1<<bits.Len(uint(size)))
	case size%page != 0:
		return fmt.Errorf("ring_buffer_size: %d is not a multiple of the page size %d", size, page)
	}
	return nil
}

func normalizePrefixes(field string, prefixes []string) ([]string, error) {
	var errs []error
	normalized := make([]string, 0, len(prefixes))
	for i, p := range prefixes {
		n, err := probe.NormalizePrefix(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", field, i, err))
			continue
		}
		if !contains(normalized, n) {
			normalized = append(normalized, n)
		}
	}
	return normalized, errors.Join(errs...)
}

func (cfg *Config) ops() ([]probe.FileaccessOp, error) {
	var errs []error
	ops := make([]probe.FileaccessOp, 0, len(cfg.Operations))
	for i, name := range cfg.Operations {
		op, ok := probe.Ops[name]
		if !ok {
			errs = append(errs, fmt.Errorf("operations[%d]: unknown operation %q: use read, write, mmap or truncate", i, name))
			continue
		}
		ops = append(ops, op)
	}
	return ops, errors.Join(errs...)
}

// probeOptions turns a validated configuration into what the loader takes.
func (cfg *Config) probeOptions() (probe.Options, error) {
	mode, err := probe.ParseMode(cfg.Attach)
	if err != nil {
		return probe.Options{}, err
	}
	include, err := normalizePrefixes("include_paths", cfg.IncludePaths)
	if err != nil {
		return probe.Options{}, err
	}
	exclude, err := normalizePrefixes("exclude_paths", cfg.ExcludePaths)
	if err != nil {
		return probe.Options{}, err
	}
	ops, err := cfg.ops()
	if err != nil {
		return probe.Options{}, err
	}
	return probe.Options{
		Mode:                 mode,
		IncludePaths:         include,
		ExcludePaths:         exclude,
		Ops:                  ops,
		RingBufferSize:       uint32(cfg.RingBufferSize),
		IgnorePID:            uint32(os.Getpid()),
		ExcludeContainerInit: cfg.ExcludeContainerInit,
		DedupWindow:          cfg.Dedup.Window,
	}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

type processEvents string

const (
	processEventsAll     processEvents = "all"
	processEventsWatched processEvents = "watched"
	processEventsNone    processEvents = "none"
)

func parseProcessEvents(s string) (processEvents, error) {
	switch e := processEvents(s); e {
	case processEventsAll, processEventsWatched, processEventsNone:
		return e, nil
	}
	return "", fmt.Errorf("process_events: unknown value %q: use all, watched or none", s)
}
