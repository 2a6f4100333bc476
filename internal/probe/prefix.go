package probe

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// MaxPrefixes is how many include and exclude prefixes the kernel's trie holds together.
const MaxPrefixes = 128

// MaxPrefixLen is the longest prefix in bytes, not counting a trailing slash:
// the trie's key holds 256 bytes, one of which is the slash that makes a
// prefix match whole path components.
const MaxPrefixLen = 255

// MaxPrefixComponents is how many components the kernel keeps of a path
// (MAX_COMPONENTS in bpf/fileaccess.c): a deeper path is truncated to them.
const MaxPrefixComponents = 64

// NormalizePrefix returns the form of a path prefix the trie stores: clean,
// absolute and ending in a slash, so that "/etc" matches "/etc" and "/etc/x"
// but never "/etcd".
func NormalizePrefix(prefix string) (string, error) {
	switch {
	case prefix == "":
		return "", errors.New("is empty")
	case !strings.HasPrefix(prefix, "/"):
		return "", fmt.Errorf("%q is not absolute: prefixes start with /", prefix)
	case strings.ContainsRune(prefix, 0):
		return "", fmt.Errorf("%q contains a NUL byte", prefix)
	}

	clean := path.Clean(prefix)
	if clean != strings.TrimSuffix(prefix, "/") && clean != prefix {
		return "", fmt.Errorf("%q is not a clean path (try %q): the kernel reports paths without . , .. or //", prefix, clean)
	}
	if len(clean) > MaxPrefixLen {
		return "", fmt.Errorf("%q is %d bytes long, more than the %d the kernel filter takes", prefix, len(clean), MaxPrefixLen)
	}
	if n := strings.Count(clean, "/"); n > MaxPrefixComponents {
		return "", fmt.Errorf("%q has %d components, more than the %d a path the kernel reports keeps, so it could never match", prefix, n, MaxPrefixComponents)
	}
	if clean == "/" {
		return clean, nil
	}
	return clean + "/", nil
}

// prefixKey builds the trie key of a normalized prefix.
func prefixKey(normalized string) FileaccessPrefixKey {
	var key FileaccessPrefixKey
	key.Bits = uint32(len(normalized) * 8)
	copy(key.Data[:], normalized)
	return key
}
