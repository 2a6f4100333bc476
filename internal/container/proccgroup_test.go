package container

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFromProcCgroup(t *testing.T) {
	const (
		idA = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
		idB = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
		idC = "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"
		idD = "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"
		idF = "252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111"
		idG = "cd0aa9856147b6c5b4ff2b7dfee5da20aa38253099ef1b4a64aced233c9afe29"
	)
	tests := []struct {
		file string
		want ID
		ok   bool
	}{
		{file: "containerd-systemd-v2", want: ID{idA, RuntimeContainerd}, ok: true},
		{file: "containerd-systemd-v1", want: ID{idA, RuntimeContainerd}, ok: true},
		{file: "containerd-cgroupfs-v2", want: ID{idB, RuntimeUnknown}, ok: true},
		{file: "containerd-cgroupfs-v1", want: ID{idB, RuntimeUnknown}, ok: true},
		{file: "crio-systemd-v2", want: ID{idC, RuntimeCRIO}, ok: true},
		{file: "crio-cgroupfs-v1", want: ID{idC, RuntimeCRIO}, ok: true},
		{file: "crio-conmon-v2"},
		{file: "docker-systemd-v2", want: ID{idD, RuntimeDocker}, ok: true},
		{file: "docker-systemd-hybrid", want: ID{idD, RuntimeDocker}, ok: true},
		{file: "docker-cgroupfs-v1", want: ID{idD, RuntimeDocker}, ok: true},
		{file: "docker-cgroupfs-hybrid", want: ID{idD, RuntimeDocker}, ok: true},
		{file: "podman-rootless-v2", want: ID{idF, RuntimePodman}, ok: true},
		{file: "podman-cgroupfs-v1", want: ID{idF, RuntimePodman}, ok: true},
		{file: "unified-preferred-hybrid", want: ID{idG, RuntimeDocker}, ok: true},
		{file: "host-v2"},
		{file: "host-v1"},
		{file: "host-hybrid"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "proccgroup", tt.file))
			require.NoError(t, err)
			got, ok := FromProcCgroup(data)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFromProcCgroupIgnoresMalformedLines(t *testing.T) {
	const id = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
	data := []byte("garbage\n\n0:/docker/" + id + "\n4:memory:/docker/" + id + "\n")
	got, ok := FromProcCgroup(data)
	assert.True(t, ok)
	assert.Equal(t, ID{id, RuntimeDocker}, got)

	_, ok = FromProcCgroup([]byte("garbage\n0:/docker/" + id + "\n"))
	assert.False(t, ok, "a line of two fields is not read")
}

func TestUnifiedPath(t *testing.T) {
	path, ok := unifiedPath([]byte("4:memory:/a\n0::/b:c\n"))
	assert.True(t, ok)
	assert.Equal(t, "/b:c", path, "the path keeps its colons")

	_, ok = unifiedPath([]byte("4:memory:/a\n1:name=systemd:/b\n"))
	assert.False(t, ok, "a v1-only file has no unified line")
}
