package fileaccessreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/goleak"
	"k8s.io/client-go/kubernetes/fake"
)

// TestNoGoroutineOutlivesShutdown starts a receiver of each kind that runs
// goroutines of its own, lets a record through, and shuts it down: every
// goroutine started since must have ended. Goroutines of earlier tests are
// left out by the snapshot taken before Start.
func TestNoGoroutineOutlivesShutdown(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *Config, dir string)
		prepare func(*fileAccessReceiver)
	}{
		{
			name:   "defaults",
			mutate: func(c *Config, dir string) { c.IncludePaths = []string{dir} },
		},
		{
			name:    "kubernetes enabled",
			mutate:  func(c *Config, dir string) { withKubernetes(dir)(c) },
			prepare: withClient(fake.NewClientset()),
		},
		{
			name: "dedup on",
			mutate: func(c *Config, dir string) {
				c.IncludePaths = []string{dir}
				c.Dedup.Window = 50 * time.Millisecond
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireRoot(t)
			dir, file := watchedFile(t)
			before := goleak.IgnoreCurrent()

			r := startReceiverWith(t, func(c *Config) { tt.mutate(c, dir) }, nil, tt.prepare)
			pid := runWorkloadChild(t, "reads", file, "3")
			waitFor(t, r.sink, "a read", func(a access) bool {
				return a.event == "file_access.read" && a.pid == int64(pid)
			})
			require.NoError(t, r.rcv.Shutdown(context.Background()))

			goleak.VerifyNone(t, before)
		})
	}
}

// TestRestartAfterShutdown: the collector may shut a receiver down and start
// the same object again (a configuration reload); the second Start must
// attach anew and records must flow again, and nothing is reported while it
// is stopped. Shutdown before Start and twice is TestLifecycle's.
func TestRestartAfterShutdown(t *testing.T) {
	dir, file := watchedFile(t)
	r := startReceiver(t, func(c *Config) {
		c.IncludePaths = []string{dir}
		c.Operations = []string{"read"}
	})
	isReadBy := func(pid int) func(access) bool {
		return func(a access) bool {
			return a.event == "file_access.read" && a.path == file && a.pid == int64(pid)
		}
	}

	first := runWorkloadChild(t, "io", file, "read")
	waitFor(t, r.sink, "the read before the restart", isReadBy(first))
	require.NoError(t, r.rcv.Shutdown(context.Background()))

	stopped := runWorkloadChild(t, "io", file, "read")

	require.NoError(t, r.rcv.Start(context.Background(), componenttest.NewNopHost()))
	second := runWorkloadChild(t, "io", file, "read")
	waitFor(t, r.sink, "the read after the restart", isReadBy(second))

	for _, a := range fileAccesses(r.sink) {
		assert.NotEqual(t, int64(stopped), a.pid, "a read made while stopped was reported: %s", a.body)
	}
	assert.Len(t, r.logs.FilterMessage("Watching file accesses").All(), 2, "each Start attaches")
}

// TestTwoReceiversKeepTheirOwnFilters: two receivers in one collector load
// programs and maps of their own, so each reports only its paths and
// operations, and shutting one down leaves the other attached.
func TestTwoReceiversKeepTheirOwnFilters(t *testing.T) {
	readsDir, readsFile := watchedFile(t)
	writesDir, writesFile := watchedFile(t)
	reads := startReceiver(t, func(c *Config) {
		c.IncludePaths = []string{readsDir}
		c.Operations = []string{"read"}
	})
	writes := startReceiver(t, func(c *Config) {
		c.IncludePaths = []string{writesDir}
		c.Operations = []string{"write"}
	})

	// Each file is both read and written, by processes of their own.
	pids := map[string]int{}
	for _, f := range []string{readsFile, writesFile} {
		for _, call := range []string{"read", "write"} {
			pids[call+" "+f] = runWorkloadChild(t, "io", f, call)
		}
	}
	waitFor(t, reads.sink, "the read of its file", func(a access) bool {
		return a.event == "file_access.read" && a.pid == int64(pids["read "+readsFile])
	})
	waitFor(t, writes.sink, "the write of its file", func(a access) bool {
		return a.event == "file_access.write" && a.pid == int64(pids["write "+writesFile])
	})

	require.NoError(t, reads.rcv.Shutdown(context.Background()))
	after := runWorkloadChild(t, "io", writesFile, "write")
	waitFor(t, writes.sink, "a write after the other receiver stopped", func(a access) bool {
		return a.event == "file_access.write" && a.pid == int64(after)
	})

	settle()
	for _, a := range fileAccesses(reads.sink) {
		assert.True(t, a.event == "file_access.read" && a.path == readsFile,
			"the read receiver reported another's access: %s", a.body)
	}
	for _, a := range fileAccesses(writes.sink) {
		assert.True(t, a.event == "file_access.write" && a.path == writesFile,
			"the write receiver reported another's access: %s", a.body)
	}
}
