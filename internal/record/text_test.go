package record_test

import (
	"fmt"
	"testing"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

// The strings of a record stay as they were while later records are decoded
// into the same Record, over many of its buffers, since the records they
// went into are still on their way.
func TestDecodeKeepsEarlierStrings(t *testing.T) {
	var r record.Record
	type kept struct{ path, exe, comm string }
	var got []kept
	for i := range 5000 {
		h := kernelHeader
		h.Comm = comm(fmt.Sprintf("worker-%d", i%3))
		exe := fmt.Sprintf("/usr/bin/tool-%d", i/10)
		if err := record.Decode(encode(t, h, fmt.Sprintf("/etc/conf.d/file-%06d", i), exe), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, kept{r.Path, r.Executable, r.Comm})
	}
	for i, k := range got {
		want := kept{
			path: fmt.Sprintf("/etc/conf.d/file-%06d", i),
			exe:  fmt.Sprintf("/usr/bin/tool-%d", i/10),
			comm: fmt.Sprintf("worker-%d", i%3),
		}
		if k != want {
			t.Fatalf("record %d now reads %+v, want %+v", i, k, want)
		}
	}
}
