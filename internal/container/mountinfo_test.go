package container

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindCgroup2Mount(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{file: "hybrid", want: "/sys/fs/cgroup/unified"},
		{file: "unified", want: "/sys/fs/cgroup"},
		{file: "escaped", want: "/host root/sys/fs/cgroup"},
		{file: "subtree-before-root", want: "/sys/fs/cgroup"},
		{file: "subtree-only", want: "/sys/fs/cgroup"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := FindCgroup2Mount(filepath.Join("testdata", "mountinfo", tt.file))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFindCgroup2MountV1Only(t *testing.T) {
	_, err := FindCgroup2Mount(filepath.Join("testdata", "mountinfo", "v1-only"))
	require.ErrorIs(t, err, ErrNoCgroup2)
}

func TestFindCgroup2MountMissingFile(t *testing.T) {
	_, err := FindCgroup2Mount(filepath.Join(t.TempDir(), "mountinfo"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrNoCgroup2)
	assert.Contains(t, err.Error(), "reading mountinfo")
}

func TestUnescapeMountinfo(t *testing.T) {
	assert.Equal(t, "a b\tc\\d", unescapeMountinfo(`a\040b\011c\134d`))
	assert.Equal(t, `a\09`, unescapeMountinfo(`a\09`), "a short or non-octal escape stays")
	assert.Equal(t, `plain`, unescapeMountinfo(`plain`))
}
