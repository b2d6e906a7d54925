// Package bench compares mapx with sync.Map, xsync.Map and a map guarded by
// a sync.RWMutex on the same workloads in the same run. It is a module of its
// own so that the library's go.mod does not depend on the baselines. The
// implementations are the list loadgen runs too
// (github.com/mapx-dev/mapx/loadgen/impls), less the instrumented ones.
//
// Run it with make bench from the repository root; README.md in this folder
// quotes the results.
package bench
