package mapx_test

import (
	"testing"

	"github.com/mapx-dev/mapx"
)

// FuzzLookupCopies checks that the hand-written copies of table.lookup
// (Load's fast path, locate) agree with lookup and with a reference map when
// hashes collide: its input picks a hash mask (0 makes every key collide), a
// number of shards and then (operation, key) pairs.
func FuzzLookupCopies(f *testing.F) {
	f.Add(uint64(0), uint8(0), []byte{0, 1, 0, 2, 0, 3, 1, 2, 2, 0, 0, 9, 1, 1})
	f.Add(uint64(1), uint8(1), []byte{0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 2, 0, 1, 4})
	f.Add(uint64(0x300000000), uint8(2), []byte{0, 10, 0, 20, 0, 30, 2, 0, 1, 20, 0, 40, 0, 50})
	f.Add(uint64(0xff00000003), uint8(3), []byte{0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0, 10, 0, 11, 0, 12, 0, 13, 0, 14, 0, 15, 0, 16, 2, 0})
	f.Add(uint64(0), uint8(0), []byte{0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0, 10, 2, 0, 1, 3, 0, 11})
	f.Fuzz(func(t *testing.T, mask uint64, shards uint8, ops []byte) {
		// The map multiplies the user's hash by an odd constant, so masked
		// hashes collide in shard, group, tag and top half alike.
		m := mapx.New[uint16, int](mapx.WithShards(1<<(shards%4)),
			mapx.WithHasher(func(k uint16) uint64 { return uint64(k) & mask }))
		ref := map[uint16]int{}
		check := func() {
			for k := range uint16(64) {
				want, wantOK := ref[k]
				vl, vp, okl, okp, located := mapx.LookupCopies(m, k)
				if okl != wantOK || vl != want {
					t.Fatalf("Load(%d) = %d, %v; want %d, %v", k, vl, okl, want, wantOK)
				}
				if okp != wantOK || vp != want {
					t.Fatalf("loadProbe(%d) = %d, %v; want %d, %v", k, vp, okp, want, wantOK)
				}
				if !located {
					t.Fatalf("locate(%d) and table.lookup disagree", k)
				}
			}
		}
		for i := 0; i+1 < len(ops); i += 2 {
			k := uint16(ops[i+1] % 64)
			switch ops[i] % 4 {
			case 0, 3:
				m.Store(k, i)
				ref[k] = i
			case 1:
				m.Delete(k)
				delete(ref, k)
			case 2:
				m.Range(func(uint16, int) bool { return true }) // promotes every dirty table
			}
			check()
		}
	})
}
