package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
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
