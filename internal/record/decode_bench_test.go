package record_test

import (
	"os"
	"testing"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/record"
)

// BenchmarkDecode decodes the kernel's sample of cat reading /etc/passwd into
// one reused Record, as the receiver does; one op is one record.
func BenchmarkDecode(b *testing.B) {
	sample, err := os.ReadFile(kernelSample)
	if err != nil {
		b.Fatal(err)
	}
	var r record.Record
	b.ReportAllocs()
	for b.Loop() {
		if err := record.Decode(sample, &r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
