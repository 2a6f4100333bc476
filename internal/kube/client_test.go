package kube

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kubeconfigFor returns a kubeconfig whose current context points at server,
// with no credentials.
func kubeconfigFor(server string) string {
	return `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ` + server + `
contexts:
- name: test
  context:
    cluster: test
    user: test
users:
- name: test
  user: {}
current-context: test
`
}

// outsideCluster clears what would make the process look like it runs in a
// pod or has a kubeconfig of its own.
func outsideCluster(t *testing.T) {
	t.Setenv(envServiceHost, "")
	t.Setenv(envServicePort, "")
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	t.Setenv("HOME", t.TempDir())
}

func TestRestConfigFindsTheServerForEachAuthType(t *testing.T) {
	dir := t.TempDir()
	explicit := filepath.Join(dir, "explicit.yaml")
	fromEnv := filepath.Join(dir, "env.yaml")
	require.NoError(t, os.WriteFile(explicit, []byte(kubeconfigFor("https://127.0.0.1:7001")), 0o600))
	require.NoError(t, os.WriteFile(fromEnv, []byte(kubeconfigFor("https://127.0.0.1:7002")), 0o600))

	tests := []struct {
		name     string
		auth     AuthType
		path     string
		env      map[string]string
		wantHost string
	}{
		{
			name:     "kubeConfig with an explicit path",
			auth:     AuthTypeKubeConfig,
			path:     explicit,
			env:      map[string]string{"KUBECONFIG": fromEnv},
			wantHost: "https://127.0.0.1:7001",
		},
		{
			name:     "kubeConfig from KUBECONFIG",
			auth:     AuthTypeKubeConfig,
			env:      map[string]string{"KUBECONFIG": fromEnv},
			wantHost: "https://127.0.0.1:7002",
		},
		{
			name:     "none from the service environment",
			auth:     AuthTypeNone,
			env:      map[string]string{envServiceHost: "127.0.0.1", envServicePort: "6443"},
			wantHost: "https://127.0.0.1:6443",
		},
		{
			name:     "none with an IPv6 service host",
			auth:     AuthTypeNone,
			env:      map[string]string{envServiceHost: "::1", envServicePort: "6443"},
			wantHost: "https://[::1]:6443",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outsideCluster(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}

			cfg, err := restConfig(tt.auth, tt.path)
			require.NoError(t, err)
			assert.Equal(t, tt.wantHost, cfg.Host)
			assert.Empty(t, cfg.BearerToken, "no credentials")

			client, err := NewClientset(tt.auth, tt.path)
			require.NoError(t, err)
			assert.NotNil(t, client)
		})
	}
}

func TestNewClientsetSaysWhatIsMissing(t *testing.T) {
	tests := []struct {
		name    string
		auth    AuthType
		path    string
		wantErr string
	}{
		{
			name:    "serviceAccount outside a pod",
			auth:    AuthTypeServiceAccount,
			wantErr: "auth_type serviceAccount needs the pod's service account token: run inside a pod or use auth_type kubeConfig",
		},
		{
			name:    "kubeConfig with a missing file",
			auth:    AuthTypeKubeConfig,
			path:    "/nonexistent/kubeconfig",
			wantErr: "loading kubeconfig from /nonexistent/kubeconfig",
		},
		{
			name:    "kubeConfig with no file anywhere",
			auth:    AuthTypeKubeConfig,
			wantErr: "loading kubeconfig from KUBECONFIG or ~/.kube/config",
		},
		{
			name:    "none outside a pod",
			auth:    AuthTypeNone,
			wantErr: "auth_type none needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT",
		},
		{
			name:    "unknown auth type",
			auth:    "token",
			wantErr: `unknown auth_type "token": use serviceAccount, kubeConfig or none`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outsideCluster(t)

			client, err := NewClientset(tt.auth, tt.path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Nil(t, client)
		})
	}
}
