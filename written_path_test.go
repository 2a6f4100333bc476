package fileaccessreceiver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveUnderARoot(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"etc/secret", "home/u", "srv"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, dir), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/secret/key"), nil, 0o644))
	links := map[string]string{
		"home/u/rel":  "../../etc/secret/key",
		"home/u/abs":  "/etc/secret",
		"home/u/out":  "/../../../etc/secret/key", // ".." above the root stays at it
		"home/u/loop": "loop",
		"srv/chain":   "/home/u/abs",
	}
	for link, target := range links {
		require.NoError(t, os.Symlink(target, filepath.Join(root, link)))
	}

	tests := []struct{ written, want string }{
		{"/etc/secret/key", "/etc/secret/key"},
		{"/home/u/../../etc/./secret//key", "/etc/secret/key"},
		{"/home/u/rel", "/etc/secret/key"},
		{"/home/u/abs/key", "/etc/secret/key"},
		{"/home/u/out", "/etc/secret/key"},
		{"/srv/chain/key", "/etc/secret/key"},
		{"/home/u/abs/gone/x", "/etc/secret/gone/x"}, // not there: the rest as written, cleaned
		{"/../../etc/secret/key", "/etc/secret/key"},
	}
	for _, tt := range tests {
		got, err := resolveUnder(root, tt.written)
		require.NoError(t, err, tt.written)
		assert.Equal(t, tt.want, got, tt.written)
	}
	_, err := resolveUnder(root, "/home/u/loop")
	assert.ErrorContains(t, err, "too many levels of symbolic links")
	_, err = resolveUnder(filepath.Join(root, "no-such-root"), "/etc")
	assert.Error(t, err)
}

func TestResolveWrittenPathOfAGoneProcess(t *testing.T) {
	// No process has pid 0 under /proc: a container process's path is then cleaned only.
	assert.Equal(t, "/etc/passwd", resolveWrittenPath(0, "/tmp/../etc/./passwd", true))
}
