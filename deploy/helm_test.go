package deploy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// helmValues are the values of deploy/helm/values.yaml, typed where the chart
// passes them into the pod spec; any key not listed here fails the decode.
type helmValues struct {
	Mode  string `json:"mode"`
	Image struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		PullPolicy string `json:"pullPolicy"`
	} `json:"image"`
	Command struct {
		Name string `json:"name"`
	} `json:"command"`
	HostPID           bool                `json:"hostPID"`
	PriorityClassName string              `json:"priorityClassName"`
	Tolerations       []corev1.Toleration `json:"tolerations"`
	NodeSelector      map[string]string   `json:"nodeSelector"`
	Rollout           struct {
		Strategy      string                        `json:"strategy"`
		RollingUpdate appsv1.RollingUpdateDaemonSet `json:"rollingUpdate"`
	} `json:"rollout"`
	ServiceAccount struct {
		Create bool   `json:"create"`
		Name   string `json:"name"`
	} `json:"serviceAccount"`
	ClusterRole struct {
		Create bool                `json:"create"`
		Name   string              `json:"name"`
		Rules  []rbacv1.PolicyRule `json:"rules"`
	} `json:"clusterRole"`
	SecurityContext   *corev1.SecurityContext     `json:"securityContext"`
	ExtraEnvs         []corev1.EnvVar             `json:"extraEnvs"`
	UseGOMEMLIMIT     bool                        `json:"useGOMEMLIMIT"`
	Resources         corev1.ResourceRequirements `json:"resources"`
	ExtraVolumes      []corev1.Volume             `json:"extraVolumes"`
	ExtraVolumeMounts []corev1.VolumeMount        `json:"extraVolumeMounts"`
	Ports             map[string]struct {
		Enabled       bool   `json:"enabled"`
		ContainerPort int32  `json:"containerPort"`
		ServicePort   int32  `json:"servicePort"`
		Protocol      string `json:"protocol"`
	} `json:"ports"`
	LivenessProbe  corev1.Probe   `json:"livenessProbe"`
	ReadinessProbe corev1.Probe   `json:"readinessProbe"`
	Config         map[string]any `json:"config"`
}

// chartDefaultsNotBuilt are components of the chart's default config that
// builder-config.yaml does not build or this deployment does not run.
var chartDefaultsNotBuilt = []struct{ section, name string }{
	{"extensions", "health_check"},
	{"receivers", "jaeger"},
	{"receivers", "otlp"},
	{"receivers", "prometheus"},
	{"receivers", "zipkin"},
	{"exporters", "debug"},
}

func loadHelmValues(t *testing.T) (helmValues, collectorConfig) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("helm", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v helmValues
	if err := yaml.UnmarshalStrict(data, &v); err != nil {
		t.Fatalf("helm/values.yaml: %v", err)
	}
	text, err := yaml.Marshal(v.Config)
	if err != nil {
		t.Fatal(err)
	}
	return v, parseCollectorConfig(t, string(text))
}

func TestHelmValues(t *testing.T) {
	m := loadManifests(t)
	manifestCfg := parseCollectorConfig(t, m.configMap.Data[configKey])
	v, cfg := loadHelmValues(t)
	c := collectorContainer(t, m.daemonSet)

	tests := []struct {
		name  string
		check func() error
	}{
		{"runs as a DaemonSet of this binary", func() error {
			if v.Mode != "daemonset" || v.Command.Name != "otelcol-fileaccess" {
				return fmt.Errorf("mode %q command %q", v.Mode, v.Command.Name)
			}
			return nil
		}},
		{"shares the host pid namespace", func() error {
			return expect(v.HostPID, "hostPID")
		}},
		{"takes the node name from the downward API", func() error {
			return nodeNameFromDownwardAPI(v.ExtraEnvs)
		}},
		{"adds the manifests' capabilities", func() error {
			return exactCapabilities(v.SecurityContext)
		}},
		{"drops every other capability", func() error {
			return dropsAll(v.SecurityContext)
		}},
		{"is not privileged and cannot escalate", func() error {
			return notPrivileged(v.SecurityContext)
		}},
		{"has the manifests' security context", func() error {
			if !reflect.DeepEqual(v.SecurityContext, c.SecurityContext) {
				return fmt.Errorf("securityContext %+v, manifests %+v", v.SecurityContext, c.SecurityContext)
			}
			return nil
		}},
		{"mounts the manifests' host paths read-only", func() error {
			if err := hostPathsReadOnly(v.ExtraVolumes, v.ExtraVolumeMounts); err != nil {
				return err
			}
			return onlyCgroupHostPath(v.ExtraVolumes, v.ExtraVolumeMounts)
		}},
		{"grants the manifests' rules", func() error {
			if !v.ClusterRole.Create || !reflect.DeepEqual(v.ClusterRole.Rules, wantRules) {
				return fmt.Errorf("clusterRole %+v", v.ClusterRole)
			}
			return nil
		}},
		{"configures the manifests' receiver", func() error {
			if err := checkFileAccessKubernetes(fileAccessOf(t, cfg)); err != nil {
				return err
			}
			if !reflect.DeepEqual(cfg.Receivers["file_access"], manifestCfg.Receivers["file_access"]) {
				return fmt.Errorf("file_access %v, manifests %v", cfg.Receivers["file_access"], manifestCfg.Receivers["file_access"])
			}
			return nil
		}},
		{"exports as the manifests do", func() error {
			if !reflect.DeepEqual(cfg.Exporters["otlp_grpc"], manifestCfg.Exporters["otlp_grpc"]) {
				return fmt.Errorf("otlp_grpc %v, manifests %v", cfg.Exporters["otlp_grpc"], manifestCfg.Exporters["otlp_grpc"])
			}
			if !reflect.DeepEqual(cfg.Service.Pipelines["logs"], manifestCfg.Service.Pipelines["logs"]) {
				return errors.New("the logs pipeline differs from the manifests'")
			}
			return nil
		}},
		{"limits memory by a fixed size since the cgroup view is the host's", func() error {
			return fixedMemoryLimit(cfg)
		}},
		{"switches off the chart defaults this build lacks", func() error {
			return chartDefaultsOff(cfg)
		}},
		{"probes the metrics port, not the absent health_check", func() error {
			for name, p := range map[string]corev1.Probe{"liveness": v.LivenessProbe, "readiness": v.ReadinessProbe} {
				if p.HTTPGet == nil || p.HTTPGet.Port.IntValue() != 8888 {
					return fmt.Errorf("%s probe %+v is not on 8888", name, p.HTTPGet)
				}
			}
			return nil
		}},
		{"opens only the metrics port", func() error {
			for name, p := range v.Ports {
				if p.Enabled != (name == "metrics") {
					return fmt.Errorf("port %s enabled=%v", name, p.Enabled)
				}
			}
			return nil
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

func chartDefaultsOff(cfg collectorConfig) error {
	sections := map[string]map[string]any{
		"extensions": cfg.Extensions,
		"receivers":  cfg.Receivers,
		"exporters":  cfg.Exporters,
	}
	var errs []error
	for _, d := range chartDefaultsNotBuilt {
		value, present := sections[d.section][d.name]
		if !present || value != nil {
			errs = append(errs, fmt.Errorf("%s.%s is not set to null", d.section, d.name))
		}
	}
	if cfg.Service.Extensions == nil || len(cfg.Service.Extensions) != 0 {
		errs = append(errs, errors.New("service.extensions is not an empty list"))
	}
	for _, name := range []string{"metrics", "traces"} {
		if p, present := cfg.Service.Pipelines[name]; !present || p != nil {
			errs = append(errs, fmt.Errorf("pipeline %s is not set to null", name))
		}
	}
	for name, p := range cfg.Service.Pipelines {
		if p != nil && slices.Contains(p.Exporters, "debug") {
			errs = append(errs, fmt.Errorf("pipeline %s uses debug", name))
		}
	}
	return errors.Join(errs...)
}
