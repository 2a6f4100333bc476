package kube

import (
	"errors"
	"fmt"
	"net"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// AuthType says how the receiver authenticates to the Kubernetes API. The
// spellings are those of the collector-contrib Kubernetes components, so one
// configuration reads the same across them.
type AuthType string

const (
	// AuthTypeServiceAccount uses the token and CA that Kubernetes mounts into
	// the pod the collector runs in.
	AuthTypeServiceAccount AuthType = "serviceAccount"
	// AuthTypeKubeConfig reads a kubeconfig file, for a collector that runs
	// outside the cluster.
	AuthTypeKubeConfig AuthType = "kubeConfig"
	// AuthTypeNone sends no credentials, for an API server that allows
	// anonymous reads or a proxy that adds them.
	AuthTypeNone AuthType = "none"
)

// Environment variables that Kubernetes sets in every container; they locate
// the API server from inside the cluster.
const (
	envServiceHost = "KUBERNETES_SERVICE_HOST"
	envServicePort = "KUBERNETES_SERVICE_PORT"
)

// serviceAccountCAFile is where Kubernetes mounts the cluster CA. AuthTypeNone
// uses it when present, so that an anonymous client still verifies the server.
const serviceAccountCAFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

// NewClientset returns a client for the API server found as auth says.
// kubeConfigPath is used only with AuthTypeKubeConfig; when empty, the file
// named by KUBECONFIG or else ~/.kube/config is read. No request is sent: an
// unreachable server shows up later, in the Watcher.
func NewClientset(auth AuthType, kubeConfigPath string) (kubernetes.Interface, error) {
	cfg, err := restConfig(auth, kubeConfigPath)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating kubernetes client: %w", err)
	}
	return client, nil
}

// restConfig builds the connection settings for auth.
func restConfig(auth AuthType, kubeConfigPath string) (*rest.Config, error) {
	switch auth {
	case AuthTypeServiceAccount:
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("loading in-cluster config: auth_type %s needs the pod's "+
				"service account token: run inside a pod or use auth_type %s: %w",
				AuthTypeServiceAccount, AuthTypeKubeConfig, err)
		}
		return cfg, nil
	case AuthTypeKubeConfig:
		return kubeConfig(kubeConfigPath)
	case AuthTypeNone:
		return anonymousConfig()
	default:
		return nil, fmt.Errorf("unknown auth_type %q: use %s, %s or %s",
			auth, AuthTypeServiceAccount, AuthTypeKubeConfig, AuthTypeNone)
	}
}

// kubeConfig loads a kubeconfig file with the usual client rules, so that the
// current context and its credential plugins apply as they do for kubectl.
func kubeConfig(path string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	where := "KUBECONFIG or ~/.kube/config"
	if path != "" {
		rules.ExplicitPath = path
		where = path
	}
	overrides := &clientcmd.ConfigOverrides{}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig from %s: auth_type %s needs a readable "+
			"kubeconfig with a current context: give its path or use auth_type %s: %w",
			where, AuthTypeKubeConfig, AuthTypeServiceAccount, err)
	}
	return cfg, nil
}

// anonymousConfig points at the in-cluster API server without credentials.
func anonymousConfig() (*rest.Config, error) {
	host, port := os.Getenv(envServiceHost), os.Getenv(envServicePort)
	if host == "" || port == "" {
		return nil, fmt.Errorf("locating the API server: auth_type %s needs %s and %s: "+
			"run inside a pod or use auth_type %s", AuthTypeNone, envServiceHost, envServicePort,
			AuthTypeKubeConfig)
	}
	cfg := &rest.Config{Host: "https://" + net.JoinHostPort(host, port)}

	// Without the mounted CA the system roots verify the server instead.
	if _, err := os.Stat(serviceAccountCAFile); err == nil {
		cfg.TLSClientConfig.CAFile = serviceAccountCAFile
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading cluster CA %s: %w", serviceAccountCAFile, err)
	}
	return cfg, nil
}
