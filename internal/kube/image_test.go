package kube

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseImageSplitsNameAndTags(t *testing.T) {
	const digest = "sha256:4c3d3d5b0c1e2f8a9b7e6d5c4b3a29180706f5e4d3c2b1a0f9e8d7c6b5a49382"
	tests := []struct {
		name     string
		ref      string
		wantName string
		wantTags []string
	}{
		{"bare name gets latest", "nginx", "nginx", []string{"latest"}},
		{"tag", "nginx:1.25", "nginx", []string{"1.25"}},
		{"registry and path", "ghcr.io/team/app:v2", "ghcr.io/team/app", []string{"v2"}},
		{"registry port with tag", "localhost:5000/app:1.2", "localhost:5000/app", []string{"1.2"}},
		{"registry port without tag gets latest", "localhost:5000/app", "localhost:5000/app", []string{"latest"}},
		{"tag and digest keep the tag", "registry/repo:tag@" + digest, "registry/repo", []string{"tag"}},
		{"digest only has no tag", "registry/repo@" + digest, "registry/repo", nil},
		{"registry port and digest only", "localhost:5000/app@" + digest, "localhost:5000/app", nil},
		{"empty", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, tags := parseImage(tt.ref)
			assert.Equal(t, tt.wantName, name)
			assert.Equal(t, tt.wantTags, tags)
		})
	}
}
