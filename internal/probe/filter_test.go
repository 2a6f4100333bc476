package probe

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPathFilterDecidesAsTheTrie(t *testing.T) {
	f, err := NewPathFilter([]string{"/etc", "/var/log/app/", "/srv/data/keep"}, []string{"/etc/ssl", "/srv/data"})
	require.NoError(t, err)
	tests := []struct {
		path    string
		watched bool
	}{
		{"/etc", true},
		{"/etc/passwd", true},
		{"/etcd/x", false},
		{"/etc/ssl/certs/a.pem", false},
		{"/etc/ssl", false},
		{"/etc/sslx", true},
		{"/var/log/app/x.log", true},
		{"/var/log/application", false},
		{"/srv/data/file", false},
		{"/srv/data/keep/file", true},
		{"/", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.watched, f.Watched(tt.path), tt.path)
	}

	all, err := NewPathFilter([]string{"/"}, nil)
	require.NoError(t, err)
	assert.True(t, all.Watched("/"))
	assert.True(t, all.Watched("/any/thing"))

	_, err = NewPathFilter([]string{"relative"}, nil)
	assert.ErrorContains(t, err, "not absolute")
}
