package kube

import "strings"

// defaultTag is the tag a runtime pulls when a reference names neither a tag
// nor a digest.
const defaultTag = "latest"

// parseImage splits an image reference as written in a pod spec, such as
// "registry:5000/team/app:1.2@sha256:…", into its name ("registry:5000/team/app")
// and its tags (["1.2"]). A reference with neither tag nor digest gets
// "latest", which is what the runtime pulled; one pinned by digest alone gets
// no tag, since no tag says what it is.
//
// Known limitation: the name is kept as written, so "nginx" and
// "docker.io/library/nginx" are reported as two names for one image.
func parseImage(ref string) (name string, tags []string) {
	hasDigest := false
	if at := strings.IndexByte(ref, '@'); at >= 0 {
		ref, hasDigest = ref[:at], true
	}

	// A colon before the last slash separates a registry port, not a tag.
	tag := ""
	if colon := strings.LastIndexByte(ref, ':'); colon > strings.LastIndexByte(ref, '/') {
		ref, tag = ref[:colon], ref[colon+1:]
	}

	switch {
	case ref == "":
		return "", nil
	case tag != "":
		return ref, []string{tag}
	case !hasDigest:
		return ref, []string{defaultTag}
	default:
		return ref, nil
	}
}
