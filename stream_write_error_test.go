package mapx_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// failingWriter takes n bytes, then fails every write with err.
type failingWriter struct {
	n   int
	err error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	k := f.n
	f.n = 0
	return k, f.err
}

// TestWriteToReportsWriterErrors: a failing writer's error is returned as
// a write error, wrapped, wherever in the stream it fails; not as the
// codec's.
func TestWriteToReportsWriterErrors(t *testing.T) {
	errBroken := errors.New("connection lost")
	full := len(snapshotBytes(t, filled(3000)))
	for _, at := range []int{0, 5, 30, 5000, full / 2, full - 4, full - 1} {
		for _, failure := range []error{errBroken, io.EOF} {
			m := filled(3000)
			s := m.Snapshot()
			n, err := s.WriteTo(&failingWriter{n: at, err: failure})
			s.Close()
			what := fmt.Sprintf("writer failing with %v after %d of %d bytes", failure, at, full)
			if !errors.Is(err, failure) {
				t.Fatalf("%s: err = %v, want the writer's error wrapped", what, err)
			}
			if msg := err.Error(); strings.Contains(msg, "codec") || !strings.Contains(msg, "writing") {
				t.Fatalf("%s: error %q does not say that writing failed", what, msg)
			}
			if n != int64(at) {
				t.Fatalf("%s: WriteTo reports %d bytes written", what, n)
			}
		}
	}
}
