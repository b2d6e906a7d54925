// Command syncmap instruments a *sync.Map that existing code already uses,
// in one line, without changing its type elsewhere: the wrapper writes
// through to the same sync.Map, so code that still holds the *sync.Map sees
// every write.
//
//	go -C examples run ./syncmap               # from the repository root; ends after 3s
//	go -C examples run ./syncmap -duration 0   # serve /metrics until Ctrl-C
//
// A wrapped sync.Map exports operations, their sampled durations and an
// exact entry count, as long as every write goes through the wrapper; it has
// no misses, promotions or dirty-map size (Go's sync.Map exposes none). When
// you can change the type, use a mapx.Map instead (see quickstart).
package main
