//go:build !race

package instrumented

// increment adds d to *n. The caller is pinned to the P that owns n, so no
// other goroutine writes n meanwhile; readers use atomic loads of the whole
// word, which the Go memory model guarantees never to be torn.
func increment(n *int64, d int64) int64 {
	*n += d
	return *n
}
