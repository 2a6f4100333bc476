package kube

import (
	"context"
	"fmt"
	"net/http"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
)

// NewWatcherForAPI returns a Watcher of the pods of cfg.NodeName on the API
// server found as auth says (see NewClientset). It counts failed calls where
// they fail, in the client's transport: client-go's streaming list retries a
// refused connection by itself without telling the informer's error handler,
// so an API server that is down would otherwise go unnoticed.
func NewWatcherForAPI(auth AuthType, kubeConfigPath string, cfg Config, logger *zap.Logger) (*Watcher, error) {
	rest, err := restConfig(auth, kubeConfigPath)
	if err != nil {
		return nil, err
	}
	health := &apiHealth{logger: logger, viaTransport: true}
	rest.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return &observedTransport{next: next, health: health}
	})
	client, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return nil, fmt.Errorf("creating kubernetes client: %w", err)
	}
	w := NewWatcher(client, cfg, logger)
	w.health = health
	return w, nil
}

// observedTransport reports each call's outcome to the Watcher's health.
type observedTransport struct {
	next   http.RoundTripper
	health *apiHealth
}

func (t *observedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		t.health.callFailed(req.Context(), err)
	case failedStatus(resp.StatusCode):
		t.health.callFailed(req.Context(), fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status))
	default:
		t.health.answered()
	}
	return resp, err
}

// failedStatus says whether an answer means the API cannot serve the watch:
// credentials refused, throttled, or broken. 404, 409 and 410 are answers the
// informer handles itself (410 Gone asks for a relist).
func failedStatus(code int) bool {
	return code == http.StatusUnauthorized || code == http.StatusForbidden ||
		code == http.StatusTooManyRequests || code >= http.StatusInternalServerError
}

// callFailed counts and logs a failed call, as failed does for the
// informer's errors.
func (h *apiHealth) callFailed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	h.wentDown(err, h.errors.Add(1))
}

// answered logs the recovery when a call succeeds after failures.
func (h *apiHealth) answered() {
	if h.down.Swap(false) {
		h.logger.Info("Listing and watching pods works again", zap.Uint64("api_errors", h.errors.Load()))
	}
}
