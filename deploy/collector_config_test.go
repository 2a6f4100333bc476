package deploy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// collectorConfig is what the tests read of a collector configuration.
type collectorConfig struct {
	Receivers  map[string]any `json:"receivers"`
	Processors map[string]any `json:"processors"`
	Exporters  map[string]any `json:"exporters"`
	Extensions map[string]any `json:"extensions"`
	Service    struct {
		Extensions []string `json:"extensions"`
		Pipelines  map[string]*struct {
			Receivers  []string `json:"receivers"`
			Processors []string `json:"processors"`
			Exporters  []string `json:"exporters"`
		} `json:"pipelines"`
	} `json:"service"`
}

// fileAccessKubernetes is the receiver's kubernetes block.
type fileAccessKubernetes struct {
	Kubernetes struct {
		Enabled  bool     `json:"enabled"`
		AuthType string   `json:"auth_type"`
		NodeName string   `json:"node_name"`
		Labels   []string `json:"labels"`
	} `json:"kubernetes"`
}

func parseCollectorConfig(t *testing.T, text string) collectorConfig {
	t.Helper()
	var cfg collectorConfig
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("collector config: %v", err)
	}
	return cfg
}

func fileAccessOf(t *testing.T, cfg collectorConfig) fileAccessKubernetes {
	t.Helper()
	raw, ok := cfg.Receivers["file_access"]
	if !ok || raw == nil {
		t.Fatal("no file_access receiver")
	}
	data, err := yaml.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	var fa fileAccessKubernetes
	if err := yaml.Unmarshal(data, &fa); err != nil {
		t.Fatalf("file_access: %v", err)
	}
	return fa
}

func checkFileAccessKubernetes(fa fileAccessKubernetes) error {
	k := fa.Kubernetes
	var errs []error
	if !k.Enabled {
		errs = append(errs, errors.New("kubernetes.enabled is not true"))
	}
	if k.AuthType != "serviceAccount" {
		errs = append(errs, fmt.Errorf("kubernetes.auth_type %q, want serviceAccount", k.AuthType))
	}
	if k.NodeName != nodeNameRef {
		errs = append(errs, fmt.Errorf("kubernetes.node_name %q, want %s", k.NodeName, nodeNameRef))
	}
	return errors.Join(errs...)
}

// pipelineComponentsDeclared reports components a pipeline names but the
// configuration does not declare (or declares null).
func pipelineComponentsDeclared(cfg collectorConfig) error {
	var errs []error
	for name, p := range cfg.Service.Pipelines {
		if p == nil {
			continue
		}
		for kind, list := range map[string][]string{"receivers": p.Receivers, "processors": p.Processors, "exporters": p.Exporters} {
			declared := map[string]map[string]any{"receivers": cfg.Receivers, "processors": cfg.Processors, "exporters": cfg.Exporters}[kind]
			for _, id := range list {
				if _, ok := declared[id]; !ok {
					errs = append(errs, fmt.Errorf("pipeline %s names %s %q, which is not declared", name, kind, id))
				}
			}
		}
	}
	return errors.Join(errs...)
}

var envReference = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)`)

// envReferences lists the variables a configuration text reads.
func envReferences(text string) []string {
	var names []string
	for _, m := range envReference.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

func TestCollectorConfig(t *testing.T) {
	m := loadManifests(t)
	text := m.configMap.Data[configKey]
	cfg := parseCollectorConfig(t, text)
	c := collectorContainer(t, m.daemonSet)

	tests := []struct {
		name  string
		check func() error
	}{
		{"enables kubernetes with the node name from the environment", func() error {
			return checkFileAccessKubernetes(fileAccessOf(t, cfg))
		}},
		{"declares every component its pipelines name", func() error {
			return pipelineComponentsDeclared(cfg)
		}},
		{"sends the receiver's logs through memory_limiter first", func() error {
			logs := cfg.Service.Pipelines["logs"]
			if logs == nil || !slices.Equal(logs.Receivers, []string{"file_access"}) ||
				len(logs.Processors) == 0 || logs.Processors[0] != "memory_limiter" {
				return fmt.Errorf("logs pipeline %+v", logs)
			}
			return nil
		}},
		{"limits memory by a fixed size since the cgroup view is the host's", func() error {
			return fixedMemoryLimit(cfg)
		}},
		{"reads only env vars the DaemonSet sets", func() error {
			refs := envReferences(text)
			if !slices.Contains(refs, nodeNameEnv) {
				return fmt.Errorf("config does not read %s", nodeNameEnv)
			}
			var errs []error
			for _, name := range refs {
				if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name }) {
					errs = append(errs, fmt.Errorf("config reads ${env:%s}, the container does not set it", name))
				}
			}
			return errors.Join(errs...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func fixedMemoryLimit(cfg collectorConfig) error {
	ml, ok := cfg.Processors["memory_limiter"].(map[string]any)
	if !ok {
		return errors.New("no memory_limiter")
	}
	if ml["limit_mib"] == nil {
		return errors.New("memory_limiter has no limit_mib")
	}
	if ml["limit_percentage"] != nil {
		return errors.New("memory_limiter sets limit_percentage")
	}
	return nil
}

func TestEnvReferencesFindsEveryVariable(t *testing.T) {
	got := envReferences("a: ${env:A}\nb: x${env:B_2}y\nc: ${env:A}\nd: ${env:C:-x}\n")
	want := []string{"A", "B_2", "C"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
