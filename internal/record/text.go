package record

import "unsafe"

// textChunk is the size of the buffers a record's strings are copied into: a
// few hundred records' paths, so that a string costs an allocation only once
// in that many records.
const textChunk = 16 << 10

// text hands out immutable strings copied into shared buffers. A string
// keeps its whole buffer alive, so that a buffer is freed once every record
// whose strings it holds has been handed on and dropped. Bytes once handed
// out are never written again: a full buffer is left to its strings and a new
// one started.
type text struct {
	buf []byte
}

// copy returns a string with the bytes of b, which may be reused afterwards.
func (t *text) copy(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	// A long string gets its own allocation rather than waste most of a
	// buffer.
	if len(b) > textChunk/8 {
		return string(b)
	}
	if cap(t.buf)-len(t.buf) < len(b) {
		t.buf = make([]byte, 0, textChunk)
	}
	start := len(t.buf)
	t.buf = append(t.buf, b...)
	return unsafe.String(&t.buf[start], len(b))
}

// reuse returns old if it holds the bytes of b, and else a copy of b. A
// process's records name its executable and thread again and again.
func (t *text) reuse(old string, b []byte) string {
	if old == string(b) {
		return old
	}
	return t.copy(b)
}
