package fileaccessreceiver

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	custom := createDefaultConfig()
	custom.Attach = "tracepoint"
	custom.IncludePaths = []string{"/etc/", "/var/lib/app"}
	custom.ExcludePaths = []string{"/etc/ssl/"}
	custom.Operations = []string{"write", "truncate"}
	custom.RingBufferSize = 1 << 20
	custom.MaxBatchSize = 64
	custom.FlushInterval = 50 * time.Millisecond
	custom.ProcessEvents = "all"
	custom.IncludeCommandArgs = false
	custom.ExcludeContainerInit = true
	custom.CgroupRoot = "/hostfs/sys/fs/cgroup"
	custom.Kubernetes = KubernetesConfig{
		Enabled:  true,
		AuthType: "kubeConfig",
		NodeName: "node-1",
		Labels:   []string{"app.kubernetes.io/name", "team"},
		PodWait:  5 * time.Second,
	}

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: custom},
		{id: component.NewIDWithName(metadata.Type, "bad_mode"), wantErr: `attach: unknown attach mode "uprobe"`},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			cfg := NewFactory().CreateDefaultConfig()
			require.NoError(t, sub.Unmarshal(cfg))

			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"unknown mode", func(c *Config) { c.Attach = "lsm" }, `attach: unknown attach mode "lsm": use one of auto, fentry, kprobe, tracepoint`},
		{"no include prefix", func(c *Config) { c.IncludePaths = nil }, "include_paths: name at least one prefix"},
		{"empty prefix", func(c *Config) { c.IncludePaths = []string{""} }, "include_paths[0]: is empty"},
		{"relative prefix", func(c *Config) { c.IncludePaths = []string{"etc/"} }, `include_paths[0]: "etc/" is not absolute`},
		{"unclean prefix", func(c *Config) { c.IncludePaths = []string{"/etc/../var"} }, `include_paths[0]: "/etc/../var" is not a clean path (try "/var")`},
		{"double slash", func(c *Config) { c.ExcludePaths = []string{"/etc//ssl"} }, `exclude_paths[0]: "/etc//ssl" is not a clean path`},
		{"too long prefix", func(c *Config) { c.IncludePaths = []string{"/" + strings.Repeat("a", 255)} }, "is 256 bytes long, more than the 255 the kernel filter takes"},
		{"too many prefixes", func(c *Config) { c.IncludePaths = manyPrefixes(129) }, "at most 128"},
		{"prefix in both lists", func(c *Config) { c.ExcludePaths = []string{"/etc"} }, `exclude_paths: "/etc/" is also in include_paths`},
		{"unknown operation", func(c *Config) { c.Operations = []string{"read", "exec"} }, `operations[1]: unknown operation "exec"`},
		{"no operation", func(c *Config) { c.Operations = []string{} }, "operations: name at least one"},
		{"ring buffer not a power of two", func(c *Config) { c.RingBufferSize = 3 << 20 }, "ring_buffer_size: 3145728 is not a power of two"},
		{"ring buffer too small", func(c *Config) { c.RingBufferSize = 1024 }, "ring_buffer_size: 1024 bytes, it must be between"},
		{"ring buffer smaller than a record", func(c *Config) { c.RingBufferSize = 8192 }, "ring_buffer_size: 8192 bytes, it must be between 16384"},
		{"ring buffer too large", func(c *Config) { c.RingBufferSize = 1 << 31 }, "ring_buffer_size: 2147483648 bytes, it must be between"},
		{"batch size", func(c *Config) { c.MaxBatchSize = 0 }, "max_batch_size: 0"},
		{"process events", func(c *Config) { c.ProcessEvents = "some" }, `process_events: unknown value "some": use all, watched or none`},
		{"flush interval", func(c *Config) { c.FlushInterval = 0 }, "flush_interval: 0s, it must be at least 10ms"},
		{"flush interval in nanoseconds", func(c *Config) { c.FlushInterval = 200 }, "flush_interval: 200ns"},
		{"relative cgroup root", func(c *Config) { c.CgroupRoot = "sys/fs/cgroup" }, `cgroup_root: "sys/fs/cgroup" is not an absolute path`},
		{"kubernetes without node name", func(c *Config) { c.Kubernetes.Enabled = true }, "kubernetes.node_name: empty; set it to this node's name"},
		{"kubernetes auth type", func(c *Config) { k8sOn(c); c.Kubernetes.AuthType = "token" }, `kubernetes.auth_type: unknown value "token": use serviceAccount, kubeConfig or none`},
		{"kubernetes pod wait", func(c *Config) { k8sOn(c); c.Kubernetes.PodWait = 2 * time.Minute }, "kubernetes.pod_wait: 2m0s, it must be between 0 and 1m0s"},
		{"dedup window too short", func(c *Config) { c.Dedup.Window = time.Millisecond }, "dedup.window: 1ms, it must be 0 (off) or between 10ms and 1m0s"},
		{"dedup window too long", func(c *Config) { c.Dedup.Window = time.Hour }, "dedup.window: 1h0m0s"},
		{"kubernetes empty label", func(c *Config) { k8sOn(c); c.Kubernetes.Labels = []string{"app", ""} }, "kubernetes.labels[1]: empty label key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			tt.mutate(cfg)
			require.ErrorContains(t, cfg.Validate(), tt.wantErr)
		})
	}
}

func TestValidateAcceptsEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"root prefix", func(c *Config) { c.IncludePaths = []string{"/"} }},
		{"prefix without trailing slash", func(c *Config) { c.IncludePaths = []string{"/etc/passwd"} }},
		{"longest prefix", func(c *Config) { c.IncludePaths = []string{"/" + strings.Repeat("a", 254)} }},
		{"duplicates collapse", func(c *Config) { c.IncludePaths = append(manyPrefixes(128), "/p/0/") }},
		{"smallest ring buffer", func(c *Config) { c.RingBufferSize = 16384 }},
		{"kubernetes off ignores its fields", func(c *Config) { c.Kubernetes.AuthType = "token" }},
		{"kubernetes on with a node name", k8sOn},
		{"dedup window", func(c *Config) { c.Dedup.Window = time.Second }},
		{"pods not waited for", func(c *Config) { k8sOn(c); c.Kubernetes.PodWait = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			tt.mutate(cfg)
			require.NoError(t, cfg.Validate())
		})
	}
}

func k8sOn(c *Config) {
	c.Kubernetes.Enabled = true
	c.Kubernetes.NodeName = "node-1"
}

func manyPrefixes(n int) []string {
	prefixes := make([]string, n)
	for i := range prefixes {
		prefixes[i] = fmt.Sprintf("/p/%d", i)
	}
	return prefixes
}
