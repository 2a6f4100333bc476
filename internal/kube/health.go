package kube

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// apiHealth counts the failed lists and watches of pods and logs once when
// they start failing and once when they work again; the informer retries by
// itself, with backoff, so the failures need no other handling.
//
// "Works again" is seen as the informer's resource version moving on, or its
// first sync completing, after the last failure: both happen only once a list
// or a watch has succeeded.
//
// Known limitation: if nothing in the cluster changed while the API was lost,
// the relist returns the resource version already held, and the recovery is
// logged only at the next change of a pod or any other object.
type apiHealth struct {
	logger *zap.Logger
	// viaTransport is set when the client's transport reports every call
	// (NewWatcherForAPI); the informer's errors are then already counted.
	viaTransport bool
	errors       atomic.Uint64
	// down is read on every informer event, so it is kept outside mu.
	down atomic.Bool

	mu sync.Mutex
	// lostVersion and lostSynced are the informer's resource version and
	// sync state at the last failure.
	lostVersion string
	lostSynced  bool
}

// failed records err, returned by a list or watch when the informer's
// resource version was version and its sync state synced.
func (h *apiHealth) failed(ctx context.Context, err error, version string, synced bool) {
	if h.viaTransport || !counts(ctx, err) {
		return
	}
	n := h.errors.Add(1)

	h.mu.Lock()
	defer h.mu.Unlock()
	h.lostVersion, h.lostSynced = version, synced
	h.wentDown(err, n)
}

// wentDown logs the first failure of an outage; the others are only counted.
func (h *apiHealth) wentDown(err error, n uint64) {
	if h.down.Swap(true) {
		return
	}
	h.logger.Warn("Listing or watching pods failed; pod metadata may be stale until the "+
		"Kubernetes API answers again", zap.Error(err), zap.Uint64("api_errors", n))
}

// check logs the recovery if the informer moved on since the last failure.
func (h *apiHealth) check(version string, synced bool) {
	if h.viaTransport || !h.down.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if version == h.lostVersion && synced == h.lostSynced {
		return
	}
	if h.down.Swap(false) {
		h.logger.Info("Listing and watching pods works again",
			zap.Uint64("api_errors", h.errors.Load()))
	}
}

// counts reports whether err is a failure rather than the normal end of a
// watch: a closed stream, or an expired resource version that the informer
// answers with a relist. Errors after ctx is done come from stopping.
func counts(ctx context.Context, err error) bool {
	switch {
	case err == nil, ctx.Err() != nil:
		return false
	case errors.Is(err, io.EOF), apierrors.IsResourceExpired(err), apierrors.IsGone(err):
		return false
	}
	return true
}
