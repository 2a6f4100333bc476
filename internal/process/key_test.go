package process

import (
	"encoding/base64"
	"testing"
)

func TestExecIDEncodesHostExecNsAndPID(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		key     Key
		decoded string
		want    string
	}{
		{
			name: "documented_example", host: "node-a", key: Key{PID: 4242, ExecNs: 1000},
			decoded: "node-a:1000:4242", want: "bm9kZS1hOjEwMDA6NDI0Mg==",
		},
		{
			name: "largest_numbers", host: "n", key: Key{PID: 4294967295, ExecNs: 18446744073709551615},
			decoded: "n:18446744073709551615:4294967295",
			want:    "bjoxODQ0Njc0NDA3MzcwOTU1MTYxNTo0Mjk0OTY3Mjk1",
		},
		{
			name: "empty_host_name", host: "", key: Key{PID: 1, ExecNs: 30000000},
			decoded: ":30000000:1", want: "OjMwMDAwMDAwOjE=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ExecID(tt.host, tt.key)
			if got != tt.want {
				t.Errorf("ExecID(%q, %+v) = %q, want %q", tt.host, tt.key, got, tt.want)
			}
			raw, err := base64.StdEncoding.DecodeString(got)
			if err != nil {
				t.Fatalf("decoding %q: %v", got, err)
			}
			if string(raw) != tt.decoded {
				t.Errorf("ExecID decodes to %q, want %q", raw, tt.decoded)
			}
		})
	}
}

func TestExecIDDiffersForReusedPID(t *testing.T) {
	first := ExecID("node-a", Key{PID: 100, ExecNs: 1})
	second := ExecID("node-a", Key{PID: 100, ExecNs: 2})
	if first == second {
		t.Errorf("two execs of pid 100 share the id %q", first)
	}
}
