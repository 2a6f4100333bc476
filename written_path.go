package fileaccessreceiver

import "path"

// resolveWrittenPath is the path a truncate(2) named, as the tracepoint mode
// sends it: as written, with the working directory in front of a relative
// one. It is cleaned lexically ("..", "." and "//" removed), so that such a
// spelling cannot get past a prefix. Known limitation: symbolic links in it
// are not followed. Following them would mean touching the file system from
// the goroutine that reads the ring buffer, after the call: a FUSE file
// system that never answers would stall every record, and a link changed
// meanwhile would lead elsewhere anyway.
func resolveWrittenPath(written string) string {
	return path.Clean(written)
}
