package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestCountsOnlyRealFailures(t *testing.T) {
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	pods := schema.GroupResource{Resource: "pods"}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"refused connection", context.Background(), errors.New("connection refused"), true},
		{"forbidden", context.Background(), apierrors.NewForbidden(pods, "", errors.New("rbac")), true},
		{"no error", context.Background(), nil, false},
		{"watch stream closed", context.Background(), fmt.Errorf("watching: %w", io.EOF), false},
		{"resource version expired", context.Background(), apierrors.NewResourceExpired("too old"), false},
		{"gone", context.Background(), apierrors.NewGone("gone"), false},
		{"error while stopping", stopped, errors.New("context canceled"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, counts(tt.ctx, tt.err))
		})
	}
}

func TestAPIHealthLogsOnceALossAndOnceARecovery(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	h := &apiHealth{logger: zap.New(core)}
	ctx := context.Background()
	down := errors.New("connection refused")

	h.failed(ctx, down, "10", true)
	h.failed(ctx, down, "10", true)
	h.check("10", true)
	assert.Equal(t, 1, logs.FilterLevelExact(zapcore.WarnLevel).Len(), "one warning for the outage")
	assert.Zero(t, logs.FilterLevelExact(zapcore.InfoLevel).Len(), "nothing moved on yet")

	h.check("11", true)
	h.check("12", true)
	assert.Equal(t, 1, logs.FilterLevelExact(zapcore.InfoLevel).Len(), "one recovery")

	h.failed(ctx, down, "12", true)
	h.check("12", true)
	assert.Equal(t, 2, logs.FilterLevelExact(zapcore.WarnLevel).Len(), "a new outage warns again")
	assert.Equal(t, uint64(3), h.errors.Load())
}

func TestAPIHealthSeesAFirstSyncAsARecovery(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	h := &apiHealth{logger: zap.New(core)}

	h.failed(context.Background(), errors.New("connection refused"), "", false)
	h.check("", true)
	assert.Equal(t, 1, logs.FilterMessage("Listing and watching pods works again").Len())
}

// TestRefusedAPIIsCountedAndRecovers: an API server that refuses
// connections is noticed in the transport, where client-go's streaming list
// would otherwise retry it silently, and its return is logged.
func TestRefusedAPIIsCountedAndRecovers(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := listener.Addr().String()
	require.NoError(t, listener.Close()) // nothing listens there now

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://`+addr+`"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {}}]
current-context: c
`), 0o600))

	core, logs := observer.New(zap.InfoLevel)
	w, err := NewWatcherForAPI(AuthTypeKubeConfig, kubeconfig, Config{NodeName: "node-a"}, zap.New(core))
	require.NoError(t, err)
	require.NoError(t, w.Start(context.Background()))
	t.Cleanup(w.Stop)

	require.Eventually(t, func() bool { return w.APIErrors() > 0 }, 10*time.Second, 20*time.Millisecond,
		"a refused connection was not counted")
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("Listing or watching pods failed").Len() == 1 },
		5*time.Second, 20*time.Millisecond)

	// The API comes back: an empty pod list and watches that stay open.
	server := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		if req.URL.Query().Get("watch") == "true" {
			rw.WriteHeader(http.StatusOK)
			rw.(http.Flusher).Flush()
			<-req.Context().Done()
			return
		}
		_, _ = rw.Write([]byte(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`))
	})}
	var up net.Listener
	require.Eventually(t, func() bool {
		up, err = net.Listen("tcp", addr)
		return err == nil
	}, 5*time.Second, 50*time.Millisecond)
	go func() { _ = server.Serve(up) }()
	t.Cleanup(func() { _ = server.Close() })

	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("works again").Len() == 1 }, 30*time.Second, 50*time.Millisecond,
		"the API's return was not logged")
	assert.Equal(t, 1, logs.FilterMessageSnippet("Listing or watching pods failed").Len(), "warned once, not per failure")
}
