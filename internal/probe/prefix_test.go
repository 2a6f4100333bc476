package probe

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizePrefix(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "/etc", want: "/etc/"},
		{in: "/etc/", want: "/etc/"},
		{in: "/etc/passwd", want: "/etc/passwd/"},
		{in: "/", want: "/"},
		{in: "", wantErr: "is empty"},
		{in: "etc", wantErr: "is not absolute"},
		{in: "/etc/./x", wantErr: `not a clean path (try "/etc/x")`},
		{in: "/etc//x", wantErr: "not a clean path"},
		{in: "/a/../b", wantErr: "not a clean path"},
		{in: "/etc\x00", wantErr: "NUL"},
		{in: "/" + strings.Repeat("a", MaxPrefixLen-1), want: "/" + strings.Repeat("a", MaxPrefixLen-1) + "/"},
		{in: "/" + strings.Repeat("a", MaxPrefixLen), wantErr: "more than the 255"},
		{in: strings.Repeat("/a", MaxPrefixComponents), want: strings.Repeat("/a", MaxPrefixComponents) + "/"},
		{in: strings.Repeat("/a", MaxPrefixComponents+1), wantErr: "has 65 components, more than the 64"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizePrefix(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), len(FileaccessPrefixKey{}.Data), "fits the trie key")
		})
	}
}

func TestPrefixKeyCountsBits(t *testing.T) {
	key := prefixKey("/etc/")
	assert.Equal(t, uint32(40), key.Bits)
	assert.Equal(t, "/etc/", string(key.Data[:5]))
	assert.Zero(t, key.Data[5])
}

func TestParseMode(t *testing.T) {
	for _, m := range Modes {
		got, err := ParseMode(string(m))
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := ParseMode("lsm")
	require.ErrorContains(t, err, `unknown attach mode "lsm": use one of auto, fentry, kprobe, tracepoint`)
}

func TestEveryHookHasItsPrograms(t *testing.T) {
	spec, err := LoadFileaccess()
	require.NoError(t, err)
	for _, h := range lsmHooks {
		for _, name := range []string{h.fexit, h.kprobe, h.kretprobe} {
			prog, ok := spec.Programs[name]
			require.True(t, ok, "program %s of %s", name, h.function)
			assert.Contains(t, prog.SectionName, h.function)
		}
	}
}
