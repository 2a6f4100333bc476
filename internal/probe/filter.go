package probe

import "strings"

// PathFilter decides in user space what the kernel's prefix trie decides:
// the longest matching prefix, include or exclude, whole components only.
// It judges the few paths the kernel cannot: those a truncate(2) names in
// tracepoint mode, which user space resolves first.
type PathFilter struct {
	prefixes []filterPrefix
}

type filterPrefix struct {
	normalized string // as NormalizePrefix returns it
	include    bool
}

// NewPathFilter builds the filter of include and exclude prefixes.
func NewPathFilter(include, exclude []string) (*PathFilter, error) {
	f := &PathFilter{}
	for _, list := range []struct {
		paths   []string
		include bool
	}{{include, true}, {exclude, false}} {
		for _, p := range list.paths {
			normalized, err := NormalizePrefix(p)
			if err != nil {
				return nil, err
			}
			f.prefixes = append(f.prefixes, filterPrefix{normalized, list.include})
		}
	}
	return f, nil
}

// Watched reports whether a clean absolute path is watched.
func (f *PathFilter) Watched(path string) bool {
	key := path + "/"
	longest, include := -1, false
	for _, p := range f.prefixes {
		// On equal prefixes the trie keeps the last one stored: the exclude.
		if strings.HasPrefix(key, p.normalized) && len(p.normalized) >= longest {
			longest, include = len(p.normalized), p.include
		}
	}
	return include
}
