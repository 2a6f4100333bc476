package probe

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckCapabilities(t *testing.T) {
	const (
		sysAdmin = uint64(1) << capSysAdmin
		perfmon  = uint64(1) << capPerfmon
		bpf      = uint64(1) << capBPF
	)
	tests := []struct {
		name      string
		effective uint64
		wantErr   string
	}{
		{"root", ^uint64(0), ""},
		{"CAP_SYS_ADMIN alone", sysAdmin, ""},
		{"CAP_BPF and CAP_PERFMON", bpf | perfmon, ""},
		{"nothing", 0, "missing capabilities CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)"},
		{"CAP_BPF alone", bpf, "missing capabilities CAP_PERFMON (or CAP_SYS_ADMIN)"},
		{"CAP_PERFMON alone", perfmon, "missing capabilities CAP_BPF (or CAP_SYS_ADMIN)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCapabilities(tt.effective)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestEffectiveCapabilities(t *testing.T) {
	dir := t.TempDir()
	status := filepath.Join(dir, "status")
	require.NoError(t, os.WriteFile(status, []byte("Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n"), 0o644))
	got, err := effectiveCapabilities(status)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x1ffffffffff), got)

	require.NoError(t, os.WriteFile(status, []byte("Name:\tx\n"), 0o644))
	_, err = effectiveCapabilities(status)
	require.ErrorContains(t, err, "no CapEff line")
}
