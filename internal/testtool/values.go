package testtool

import (
	"encoding/binary"
	"fmt"
	"iter"
)

// LargeValues yields n keys, v-0 to v-(n-1), each with a value of size bytes
// that differs from every other value, so that a value read back under the
// wrong key, or cut short, shows.
func LargeValues(n, size int) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		for i := range n {
			v := make([]byte, size)
			for j := 0; j+8 <= size; j += 4096 {
				binary.BigEndian.PutUint64(v[j:], uint64(i)<<32|uint64(j))
			}
			if !yield(fmt.Sprintf("v-%d", i), v) {
				return
			}
		}
	}
}
