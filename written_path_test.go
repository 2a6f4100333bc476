package fileaccessreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestResolveWrittenPathCleansLexically(t *testing.T) {
	for written, want := range map[string]string{
		"/etc/passwd":                 "/etc/passwd",
		"/tmp/../etc/./passwd":        "/etc/passwd",
		"/home/u/../../etc//shadow":   "/etc/shadow",
		"/../../etc/passwd":           "/etc/passwd",
		"/srv/link/../data/./x/":      "/srv/data/x",
		"/srv/link-is-not-followed/x": "/srv/link-is-not-followed/x",
	} {
		assert.Equal(t, want, resolveWrittenPath(written), written)
	}
}
