package mapx_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/internal/testtool"
)

// bigValues returns a map of n values of size bytes each, every one
// distinct, so that a value read back in the wrong place shows.
func bigValues(n, size int) *mapx.Map[string, []byte] {
	m := mapx.New[string, []byte]()
	for k, v := range testtool.LargeValues(n, size) {
		m.Store(k, v)
	}
	return m
}

func sameBytesMaps(t *testing.T, what string, got, want *mapx.Map[string, []byte]) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("%s: %d entries, want %d", what, got.Len(), want.Len())
	}
	for k, v := range want.All() {
		if g, ok := got.Load(k); !ok || !bytes.Equal(g, v) {
			t.Fatalf("%s: %q read back as %d bytes (present %v), want %d", what, k, len(g), ok, len(v))
		}
	}
}

// TestLargeValuesRoundTrip: what WriteTo writes, ReadFrom reads, however
// large a value or a batch of values is. A batch of 1,024 values of 16 KiB
// and a single value of 17 MiB are each one write of gob larger than the
// largest chunk a reader accepts.
func TestLargeValuesRoundTrip(t *testing.T) {
	for _, c := range []struct {
		n, size int
	}{{1, 17 << 20}, {1024, 16 << 10}} {
		what := fmt.Sprintf("%d values of %d bytes", c.n, c.size)
		src := bigValues(c.n, c.size)
		s := src.Snapshot()
		var buf bytes.Buffer
		n, err := s.WriteTo(&buf)
		s.Close()
		if err != nil || n != int64(buf.Len()) {
			t.Fatalf("%s: WriteTo: %d, %v", what, n, err)
		}
		dst := mapx.New[string, []byte]()
		if _, err := dst.ReadFrom(&buf); err != nil {
			t.Fatalf("%s: saved but does not load: %v", what, err)
		}
		sameBytesMaps(t, what, dst, src)
	}
}
