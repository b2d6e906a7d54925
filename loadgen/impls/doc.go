// Package impls is the one list of the concurrent map implementations that
// mapx is compared with: the loadgen command runs its workloads on them and
// the benchmarks of the bench module time them, each with its own key and
// value types.
//
// [All] names them, ours first (benchstat and loadgen -compare compare the
// others with the first): mapx, mapx-instrumented, sync.Map,
// sync.Map-instrumented, xsync (github.com/puzpuzpuz/xsync v4) and rwmutex
// (a Go map behind a sync.RWMutex). [New] makes an empty one for any key and
// value types; its dynamic type is the implementation's own
// (*mapx.Map[K, V], *xsync.Map[K, V], ...), so a caller that needs more
// than [Map] (mapx's Snapshot, xsync's Compute) asserts it, and one that
// calls [Map]'s methods through an interface pays the one dynamic call it
// would pay for its own wrapper.
//
// The maps are safe for concurrent use, as the implementations are; the
// list itself is not to be modified.
package impls
