package container

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureRuntimes maps the runtime words of testdata/paths to ID.Runtime;
// "none" is a path in no container.
var fixtureRuntimes = map[string]string{
	"containerd": RuntimeContainerd,
	"cri-o":      RuntimeCRIO,
	"docker":     RuntimeDocker,
	"podman":     RuntimePodman,
	"unknown":    RuntimeUnknown,
}

func TestFromCgroupPathFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "paths", "*.txt"))
	require.NoError(t, err)
	require.Len(t, files, 10, "one fixture per runtime and driver, plus nested and negatives")

	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			cases := readPathFixture(t, file)
			require.NotEmpty(t, cases)
			for _, c := range cases {
				got, ok := FromCgroupPath(c.path)
				if c.runtime == "none" {
					assert.False(t, ok, "path %s", c.path)
					assert.Equal(t, ID{}, got, "path %s", c.path)
					continue
				}
				want, known := fixtureRuntimes[c.runtime]
				require.True(t, known, "runtime %q in %s", c.runtime, file)
				assert.True(t, ok, "path %s", c.path)
				assert.Equal(t, ID{ID: c.id, Runtime: want}, got, "path %s", c.path)
			}
		})
	}
}

func TestFromCgroupPathEdgeCases(t *testing.T) {
	const id = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
	tests := []struct {
		name string
		path string
		want ID
		ok   bool
	}{
		{name: "empty path", path: ""},
		{name: "relative path", path: "docker/" + id, want: ID{id, RuntimeDocker}, ok: true},
		{
			name: "doubled slashes",
			path: "//system.slice//docker-" + id + ".scope",
			want: ID{id, RuntimeDocker},
			ok:   true,
		},
		{name: "trailing slash", path: "/docker/" + id + "/", want: ID{id, RuntimeDocker}, ok: true},
		{name: "scope suffix twice", path: "/system.slice/docker-" + id + ".scope.scope"},
		{name: "id with colon path", path: "/docker/" + id + ":x"},
		{name: "kubepods after the pod", path: "/pod1234/" + id + "/kubepods"},
		{name: "empty pod uid", path: "/kubepods/pod/" + id},
		{name: "pod uid not hex", path: "/kubepods/podxyz/" + id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromCgroupPath(tt.path)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

// pathCase is one line of a testdata/paths fixture.
type pathCase struct {
	path    string
	runtime string
	id      string
}

func readPathFixture(t *testing.T, file string) []pathCase {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()

	var cases []pathCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		require.True(t, len(fields) == 2 || len(fields) == 3, "malformed line %q", line)
		c := pathCase{path: fields[0], runtime: fields[1]}
		if len(fields) == 3 {
			c.id = fields[2]
		}
		require.Equal(t, c.runtime == "none", c.id == "", "line %q: an id exactly when a container", line)
		cases = append(cases, c)
	}
	require.NoError(t, sc.Err())
	return cases
}
