package fileaccessreceiver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/metadata"
)

// refusingLogs refuses the first refusals calls with err, then takes logs
// into its sink.
type refusingLogs struct {
	consumertest.LogsSink
	mu       sync.Mutex
	err      error
	refusals int
	calls    int
}

func (c *refusingLogs) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *refusingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	c.mu.Lock()
	c.calls++
	refuse := c.calls <= c.refusals
	c.mu.Unlock()
	if refuse {
		return c.err
	}
	return c.LogsSink.ConsumeLogs(ctx, ld)
}

func (c *refusingLogs) callCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// TestRefusedBatches: a refusal that is not permanent is retried until the
// consumer takes the batch; a permanent one is not retried; one that never
// ends is given up within the retry budget. Batches given up are counted as
// refused.
func TestRefusedBatches(t *testing.T) {
	refused := errors.New("data refused due to high memory usage")
	tests := []struct {
		name          string
		next          *refusingLogs
		wantDelivered bool
		wantCalls     func(int) bool
	}{
		{"retryable, then taken", &refusingLogs{err: refused, refusals: 3}, true, func(n int) bool { return n == 4 }},
		{"permanent", &refusingLogs{err: consumererror.NewPermanent(refused), refusals: 1 << 30}, false, func(n int) bool { return n == 1 }},
		{"retryable for good", &refusingLogs{err: refused, refusals: 1 << 30}, false, func(n int) bool { return n > 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireRoot(t)
			dir, file := watchedFile(t)
			cfg := createDefaultConfig()
			cfg.IncludePaths = []string{dir}
			cfg.ProcessEvents = string(processEventsNone)
			cfg.FlushInterval = 20 * time.Millisecond
			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
			set := receivertest.NewNopSettings(metadata.Type)
			set.TelemetrySettings = tel.NewTelemetrySettings()
			rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, tt.next)
			require.NoError(t, err)
			require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
			t.Cleanup(func() { assert.NoError(t, rcv.Shutdown(context.Background())) })

			pid := runWorkloadChild(t, "reads", file, "1")
			// The first batch's fate is settled within the retry budget.
			require.Eventually(t, func() bool { return tt.next.callCount() > 0 }, 10*time.Second, 10*time.Millisecond)
			time.Sleep(retryBudget + 200*time.Millisecond)

			delivered := false
			for _, a := range fileAccesses(&tt.next.LogsSink) {
				delivered = delivered || a.pid == int64(pid)
			}
			assert.Equal(t, tt.wantDelivered, delivered, "the read delivered")
			calls := tt.next.callCount()
			assert.True(t, tt.wantCalls(calls), "%d calls of the consumer", calls)
			if !tt.wantDelivered {
				assert.Positive(t, counterSum(t, tel, "otelcol_receiver_refused_log_records", set.ID.String(), ""),
					"a batch given up is counted as refused")
			}
		})
	}
}

// TestRefusalsEndAndSaySo: a batch refused past the retry budget is dropped
// with a warning; the first batch taken after it says how many were dropped.
func TestRefusalsEndAndSaySo(t *testing.T) {
	_, file := watchedFile(t)
	// Permanent refusals are not retried: one call per dropped batch.
	next := &refusingLogs{err: consumererror.NewPermanent(errors.New("refused")), refusals: 1}
	r := startReceiverWith(t, func(c *Config) {
		c.IncludePaths = []string{file}
		c.ProcessEvents = string(processEventsNone)
	}, nil, func(rcv *fileAccessReceiver) { rcv.next = next })

	runWorkloadChild(t, "reads", file, "1")
	require.Eventually(t, func() bool { return next.callCount() == 1 }, 10*time.Second, 10*time.Millisecond)
	pid := runWorkloadChild(t, "reads", file, "1")
	require.Eventually(t, func() bool {
		for _, a := range fileAccesses(&next.LogsSink) {
			if a.pid == int64(pid) {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "the read after the refusal is delivered")

	require.Len(t, r.logs.FilterMessage("Next consumer refused file access records; they are dropped").All(), 1)
	// Logged once the consumer has returned, after the sink has the record.
	require.Eventually(t, func() bool {
		return r.logs.FilterMessage("Next consumer takes file access records again").Len() > 0
	}, 5*time.Second, 10*time.Millisecond)
	again := r.logs.FilterMessage("Next consumer takes file access records again").All()
	require.Len(t, again, 1)
	assert.Equal(t, int64(1), again[0].ContextMap()["dropped"])
}

// callsPerBatch refuses every batch with a retryable error and counts the
// calls each batch got, by its first record's timestamp.
type callsPerBatch struct {
	mu    sync.Mutex
	calls map[pcommon.Timestamp]int
	order []pcommon.Timestamp
}

func (c *callsPerBatch) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *callsPerBatch) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Timestamp()
	if _, seen := c.calls[key]; !seen {
		c.order = append(c.order, key)
	}
	c.calls[key]++
	return errors.New("data refused due to high memory usage")
}

// TestBatchesAfterAGivenUpOneAreTriedOnce: while the consumer goes on
// refusing, only the first batch spends the retry budget; the batches queued
// behind it are tried once each, so that they do not hold the ring up (or
// Shutdown) for a budget apiece.
func TestBatchesAfterAGivenUpOneAreTriedOnce(t *testing.T) {
	_, file := watchedFile(t)
	next := &callsPerBatch{calls: make(map[pcommon.Timestamp]int)}
	startReceiverWith(t, func(c *Config) {
		c.IncludePaths = []string{file}
		c.ProcessEvents = string(processEventsNone)
		c.MaxBatchSize = 1
	}, nil, func(rcv *fileAccessReceiver) { rcv.next = next })

	runWorkloadChild(t, "reads", file, "4")
	require.Eventually(t, func() bool {
		next.mu.Lock()
		defer next.mu.Unlock()
		return len(next.order) == 4
	}, 10*time.Second, 10*time.Millisecond, "every batch reached the consumer")
	time.Sleep(200 * time.Millisecond)

	next.mu.Lock()
	defer next.mu.Unlock()
	assert.Greater(t, next.calls[next.order[0]], 1, "the first refused batch is retried")
	for i, key := range next.order[1:] {
		assert.Equal(t, 1, next.calls[key], "calls of batch %d, queued behind a batch given up", i+1)
	}
}
