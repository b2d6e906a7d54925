package mapx_test

import (
	"bytes"
	"testing"

	"github.com/mapx-dev/mapx"
)

// BenchmarkStream writes and reads a snapshot of 100,000 string->int
// entries.
func BenchmarkStream(b *testing.B) {
	src := filled(100_000)
	data := snapshotBytes(b, src)
	b.Run("WriteTo", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			s := src.Snapshot()
			if _, err := s.WriteTo(&buf); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	b.Run("ReadFrom", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := mapx.New[string, int]().ReadFrom(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
