package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// The facts the manifests are checked against.
const (
	namespace      = "file-access"
	configKey      = "config.yaml"
	nodeNameEnv    = "K8S_NODE_NAME"
	nodeNameRef    = "${env:K8S_NODE_NAME}"
	hostCgroupPath = "/sys/fs/cgroup"
)

// wantCapabilities are the capabilities the collector adds, and no others:
// BPF and PERFMON to load and attach, SYS_PTRACE to read exe and cwd of
// other users' processes at start.
var wantCapabilities = []corev1.Capability{"BPF", "PERFMON", "SYS_PTRACE"}

// wantRules is the whole of the collector's API access.
var wantRules = []rbacv1.PolicyRule{{
	APIGroups: []string{""},
	Resources: []string{"pods"},
	Verbs:     []string{"get", "list", "watch"},
}}

// manifests are the objects of deploy/kubernetes, one of each kind.
type manifests struct {
	namespace      *corev1.Namespace
	serviceAccount *corev1.ServiceAccount
	clusterRole    *rbacv1.ClusterRole
	binding        *rbacv1.ClusterRoleBinding
	configMap      *corev1.ConfigMap
	daemonSet      *appsv1.DaemonSet
}

// strictDecoder decodes YAML into the typed objects client-go registers and
// fails on unknown, duplicate or mistyped fields.
func strictDecoder() runtime.Decoder {
	return json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
}

// decodeDocuments decodes every document of a multi-document YAML stream,
// skipping documents that hold only comments.
func decodeDocuments(data []byte) ([]runtime.Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	decoder := strictDecoder()
	var objects []runtime.Object
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objects, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading document %d: %w", i, err)
		}
		if empty, err := isEmptyDocument(doc); err != nil || empty {
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", i, err)
			}
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("decoding document %d: %w", i, err)
		}
		objects = append(objects, obj)
	}
}

func isEmptyDocument(doc []byte) (bool, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return false, err
	}
	return string(bytes.TrimSpace(j)) == "null", nil
}

// loadManifests decodes every file of deploy/kubernetes and files each object
// by kind; a kind twice, or one the deployment has no use for, fails.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("listing kubernetes/*.yaml: %v, %d files", err, len(files))
	}

	var m manifests
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		objects, err := decodeDocuments(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, obj := range objects {
			if err := m.add(obj); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
		}
	}
	if err := m.complete(); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *manifests) add(obj runtime.Object) error {
	switch o := obj.(type) {
	case *corev1.Namespace:
		return setOnce(&m.namespace, o)
	case *corev1.ServiceAccount:
		return setOnce(&m.serviceAccount, o)
	case *rbacv1.ClusterRole:
		return setOnce(&m.clusterRole, o)
	case *rbacv1.ClusterRoleBinding:
		return setOnce(&m.binding, o)
	case *corev1.ConfigMap:
		return setOnce(&m.configMap, o)
	case *appsv1.DaemonSet:
		return setOnce(&m.daemonSet, o)
	}
	return fmt.Errorf("unexpected object %T", obj)
}

func setOnce[T any](slot **T, value *T) error {
	if *slot != nil {
		return fmt.Errorf("a second %T", value)
	}
	*slot = value
	return nil
}

func (m *manifests) complete() error {
	var errs []error
	if m.namespace == nil {
		errs = append(errs, errors.New("no Namespace"))
	}
	if m.serviceAccount == nil {
		errs = append(errs, errors.New("no ServiceAccount"))
	}
	if m.clusterRole == nil {
		errs = append(errs, errors.New("no ClusterRole"))
	}
	if m.binding == nil {
		errs = append(errs, errors.New("no ClusterRoleBinding"))
	}
	if m.configMap == nil {
		errs = append(errs, errors.New("no ConfigMap"))
	}
	if m.daemonSet == nil {
		errs = append(errs, errors.New("no DaemonSet"))
	}
	return errors.Join(errs...)
}

func TestStrictDecoderRejectsWhatKubernetesWouldNot(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{
			name: "an unknown field",
			doc:  "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nsecrets2: []\n",
		},
		{
			name: "a misspelled securityContext field",
			doc: "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n" +
				"    - name: c\n      securityContext: {readOnlyRootFileSystem: true}\n",
		},
		{
			name: "a duplicate field",
			doc:  "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nmetadata: {name: b}\n",
		},
		{
			name: "a field of the wrong type",
			doc:  "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: a}\nspec: {template: {spec: {hostPID: yes please}}}\n",
		},
		{
			name: "a kind the scheme does not know",
			doc:  "apiVersion: v1\nkind: Pods\nmetadata: {name: a}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeDocuments([]byte(tt.doc)); err == nil {
				t.Fatal("decoded without error")
			}
		})
	}
}

func TestDecodeDocumentsSkipsCommentOnlyDocuments(t *testing.T) {
	doc := "# header\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# trailer\n"
	objects, err := decodeDocuments([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(objects) != 1 {
		t.Fatalf("got %d objects, want 1", len(objects))
	}
}

func TestManifestsHoldOneObjectOfEachKind(t *testing.T) {
	loadManifests(t)
}

func TestNamespacedObjectsLiveInTheNamespace(t *testing.T) {
	m := loadManifests(t)
	if m.namespace.Name != namespace {
		t.Fatalf("Namespace %q, want %q", m.namespace.Name, namespace)
	}
	if got := m.namespace.Labels["pod-security.kubernetes.io/enforce"]; got != "privileged" {
		t.Errorf("pod security enforce level %q: hostPID, hostPath and the added capabilities need privileged", got)
	}
	for name, got := range map[string]string{
		"ServiceAccount": m.serviceAccount.Namespace,
		"ConfigMap":      m.configMap.Namespace,
		"DaemonSet":      m.daemonSet.Namespace,
	} {
		if got != namespace {
			t.Errorf("%s in namespace %q, want %q", name, got, namespace)
		}
	}
}

func TestClusterRoleGrantsOnlyPodReads(t *testing.T) {
	m := loadManifests(t)
	if !reflect.DeepEqual(m.clusterRole.Rules, wantRules) {
		t.Errorf("rules %+v, want %+v", m.clusterRole.Rules, wantRules)
	}
	if m.clusterRole.AggregationRule != nil {
		t.Error("the role aggregates other roles")
	}
}

func TestClusterRoleBindingJoinsTheRoleAndTheServiceAccount(t *testing.T) {
	m := loadManifests(t)
	wantRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: m.clusterRole.Name}
	if m.binding.RoleRef != wantRef {
		t.Errorf("roleRef %+v, want %+v", m.binding.RoleRef, wantRef)
	}
	wantSubjects := []rbacv1.Subject{{
		Kind:      rbacv1.ServiceAccountKind,
		Name:      m.serviceAccount.Name,
		Namespace: m.serviceAccount.Namespace,
	}}
	if !reflect.DeepEqual(m.binding.Subjects, wantSubjects) {
		t.Errorf("subjects %+v, want %+v", m.binding.Subjects, wantSubjects)
	}
}

// collectorContainer is the DaemonSet's only container.
func collectorContainer(t *testing.T, ds *appsv1.DaemonSet) corev1.Container {
	t.Helper()
	containers := ds.Spec.Template.Spec.Containers
	if len(containers) != 1 {
		t.Fatalf("%d containers, want 1", len(containers))
	}
	if n := len(ds.Spec.Template.Spec.InitContainers); n != 0 {
		t.Fatalf("%d init containers, want none", n)
	}
	return containers[0]
}

func TestDaemonSet(t *testing.T) {
	m := loadManifests(t)
	ds := m.daemonSet
	pod := ds.Spec.Template.Spec
	c := collectorContainer(t, ds)

	tests := []struct {
		name  string
		check func() error
	}{
		{"shares the host pid namespace", func() error {
			return expect(pod.HostPID, "hostPID")
		}},
		{"shares no other host namespace and no user namespace that voids its capabilities", func() error {
			if pod.HostNetwork || pod.HostIPC || (pod.HostUsers != nil && !*pod.HostUsers) {
				return errors.New("hostNetwork, hostIPC or hostUsers: false is set")
			}
			return nil
		}},
		{"takes the node name from the downward API", func() error {
			return nodeNameFromDownwardAPI(c.Env)
		}},
		{"adds exactly the named capabilities", func() error {
			return exactCapabilities(c.SecurityContext)
		}},
		{"drops every other capability", func() error {
			return dropsAll(c.SecurityContext)
		}},
		{"is not privileged and cannot escalate", func() error {
			return notPrivileged(c.SecurityContext)
		}},
		{"runs as root so added capabilities are effective", func() error {
			sc := c.SecurityContext
			if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 0 {
				return errors.New("runAsUser is not 0")
			}
			return nil
		}},
		{"keeps the root filesystem read-only", func() error {
			sc := c.SecurityContext
			return expect(sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "readOnlyRootFilesystem")
		}},
		{"runs without the seccomp default that blocks bpf()", func() error {
			sc := c.SecurityContext
			return expect(sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined,
				"container seccompProfile Unconfined")
		}},
		{"mounts every host path read-only", func() error {
			return hostPathsReadOnly(pod.Volumes, c.VolumeMounts)
		}},
		{"mounts no host path but the cgroup filesystem", func() error {
			return onlyCgroupHostPath(pod.Volumes, c.VolumeMounts)
		}},
		{"runs under the manifests' ServiceAccount", func() error {
			if pod.ServiceAccountName != m.serviceAccount.Name {
				return fmt.Errorf("serviceAccountName %q, want %q", pod.ServiceAccountName, m.serviceAccount.Name)
			}
			return nil
		}},
		{"reads the ConfigMap's collector config", func() error {
			return readsConfigMap(pod, c, m.configMap)
		}},
		{"selects the pods it creates", func() error {
			sel := ds.Spec.Selector
			if sel == nil || len(sel.MatchLabels) == 0 {
				return errors.New("no matchLabels")
			}
			for k, v := range sel.MatchLabels {
				if ds.Spec.Template.Labels[k] != v {
					return fmt.Errorf("template lacks label %s=%s", k, v)
				}
			}
			return nil
		}},
		{"tolerates every taint", func() error {
			for _, tol := range pod.Tolerations {
				if tol.Operator == corev1.TolerationOpExists && tol.Key == "" && tol.Effect == "" {
					return nil
				}
			}
			return errors.New("no toleration with operator Exists and no key or effect")
		}},
		{"has the node-critical priority", func() error {
			return expect(pod.PriorityClassName == "system-node-critical", "priorityClassName system-node-critical")
		}},
		{"runs only on the architecture the BPF objects are built for", func() error {
			return expect(pod.NodeSelector["kubernetes.io/arch"] == "amd64", "nodeSelector kubernetes.io/arch=amd64")
		}},
		{"rolls out one node at a time without a second collector", func() error {
			s := ds.Spec.UpdateStrategy
			if s.Type != appsv1.RollingUpdateDaemonSetStrategyType || s.RollingUpdate == nil {
				return errors.New("updateStrategy is not RollingUpdate")
			}
			ru := s.RollingUpdate
			if ru.MaxUnavailable == nil || ru.MaxUnavailable.String() != "1" || ru.MaxSurge == nil || ru.MaxSurge.String() != "0" {
				return fmt.Errorf("maxUnavailable %v maxSurge %v, want 1 and 0", ru.MaxUnavailable, ru.MaxSurge)
			}
			return nil
		}},
		{"has resource requests and limits", func() error {
			r := c.Resources
			for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := r.Requests[name]; !ok {
					return fmt.Errorf("no %s request", name)
				}
				if _, ok := r.Limits[name]; !ok {
					return fmt.Errorf("no %s limit", name)
				}
			}
			return nil
		}},
		{"probes the metrics port the collector serves", func() error {
			p := c.LivenessProbe
			if p == nil || p.HTTPGet == nil {
				return errors.New("no HTTP liveness probe")
			}
			port, ok := containerPort(c, p.HTTPGet.Port.String())
			if !ok || port != 8888 {
				return fmt.Errorf("liveness probe on %q, want the 8888 metrics port", p.HTTPGet.Port.String())
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

func expect(ok bool, what string) error {
	if !ok {
		return fmt.Errorf("%s is not set", what)
	}
	return nil
}

func nodeNameFromDownwardAPI(env []corev1.EnvVar) error {
	for _, e := range env {
		if e.Name != nodeNameEnv {
			continue
		}
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
			return fmt.Errorf("%s is not from fieldRef spec.nodeName: %+v", nodeNameEnv, e)
		}
		return nil
	}
	return fmt.Errorf("no %s env var", nodeNameEnv)
}

func exactCapabilities(sc *corev1.SecurityContext) error {
	if sc == nil || sc.Capabilities == nil {
		return errors.New("no capabilities")
	}
	got := slices.Clone(sc.Capabilities.Add)
	slices.Sort(got)
	if !slices.Equal(got, wantCapabilities) {
		return fmt.Errorf("adds %v, want %v", got, wantCapabilities)
	}
	return nil
}

func dropsAll(sc *corev1.SecurityContext) error {
	if sc == nil || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		return errors.New("capabilities.drop is not [ALL]")
	}
	return nil
}

func notPrivileged(sc *corev1.SecurityContext) error {
	if sc == nil || sc.Privileged == nil || *sc.Privileged {
		return errors.New("privileged is not false")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		return errors.New("allowPrivilegeEscalation is not false")
	}
	return nil
}

func hostPathsReadOnly(volumes []corev1.Volume, mounts []corev1.VolumeMount) error {
	var errs []error
	for _, v := range volumes {
		if v.HostPath == nil {
			continue
		}
		mounted := false
		for _, vm := range mounts {
			if vm.Name != v.Name {
				continue
			}
			mounted = true
			if !vm.ReadOnly {
				errs = append(errs, fmt.Errorf("host path %s is mounted writable at %s", v.HostPath.Path, vm.MountPath))
			}
		}
		if !mounted {
			errs = append(errs, fmt.Errorf("host path volume %s is not mounted", v.Name))
		}
	}
	return errors.Join(errs...)
}

// onlyCgroupHostPath holds the design to its one host mount: the cgroup2
// hierarchy, at the path the receiver reads.
func onlyCgroupHostPath(volumes []corev1.Volume, mounts []corev1.VolumeMount) error {
	var found bool
	for _, v := range volumes {
		if v.HostPath == nil {
			continue
		}
		if v.HostPath.Path != hostCgroupPath {
			return fmt.Errorf("host path %s mounted", v.HostPath.Path)
		}
		for _, vm := range mounts {
			if vm.Name == v.Name && vm.MountPath != hostCgroupPath {
				return fmt.Errorf("host cgroup filesystem at %s, want %s", vm.MountPath, hostCgroupPath)
			}
		}
		found = true
	}
	return expect(found, "the host cgroup mount")
}

func readsConfigMap(pod corev1.PodSpec, c corev1.Container, cm *corev1.ConfigMap) error {
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
			continue
		}
		for _, vm := range c.VolumeMounts {
			if vm.Name != v.Name {
				continue
			}
			want := "--config=" + filepath.Join(vm.MountPath, configKey)
			if !slices.Contains(c.Args, want) {
				return fmt.Errorf("args %v lack %s", c.Args, want)
			}
			if _, ok := cm.Data[configKey]; !ok {
				return fmt.Errorf("ConfigMap has no %s", configKey)
			}
			return nil
		}
	}
	return fmt.Errorf("ConfigMap %s is not mounted", cm.Name)
}

func containerPort(c corev1.Container, nameOrNumber string) (int32, bool) {
	for _, p := range c.Ports {
		if p.Name == nameOrNumber || fmt.Sprint(p.ContainerPort) == nameOrNumber {
			return p.ContainerPort, true
		}
	}
	return 0, false
}
