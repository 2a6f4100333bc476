package probe

import (
	"os"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestSmoke(t *testing.T) {
	p, err := Open(Options{Mode: Mode(os.Getenv("MODE")), IncludePaths: []string{"/etc/"}, Ops: []FileaccessOp{1, 2, 3, 4}, RingBufferSize: 1 << 20, Logger: zap.NewExample()})
	if err != nil {
		t.Fatalf("%+v", err)
	}
	defer p.Close()
	t.Log(p.Mode)
	r, _ := p.NewReader()
	go func() { os.ReadFile("/etc/passwd") }()
	r.SetDeadline(time.Now().Add(2 * time.Second))
	rec, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d %q", len(rec.RawSample), rec.RawSample[112:])
}
