// Package mapx provides [Map], a generic concurrent map that can be observed:
// it has an exact [Map.Len], point-in-time [Map.Snapshot]s that writers never
// wait for, iteration that a context can cancel, admission control on growth
// ([Map.TryStore], [Map.StoreWait]) and exact internal counters ([Map.Stats]).
// Its method names follow [sync.Map] and package iter. The package imports the
// standard library only; package instrumented exports its counters to
// OpenTelemetry.
//
// # Design
//
// A Map is split into shards chosen by a hash of the key (hash/maphash with a
// per-map random seed, or the function given to [WithHasher]; either way keys
// are compared with Go's ==). Each shard is a read/dirty map, the design of
// the original sync.Map: an immutable read-only table loaded atomically, and
// a mutex-guarded dirty table that also holds keys added since the read table
// was made. A load that finds its key in the read map takes no lock; one that must
// consult the dirty map counts a read miss, and once a shard's misses have cost
// about as much as copying its tables, the dirty map is promoted to be the new
// read map: when misses reach the size of the dirty map, or, in a shard whose
// keys are being replaced, a sixteenth of its live keys (never below 16 misses).
// A shard whose read map becomes mostly deleted entries is compacted, so a map
// that shrinks gives its memory back.
// Updates and deletes of keys in the read map are lock-free compare-and-swaps,
// and so is storing a key again soon after its deletion; inserting a new key
// takes the shard's lock. The tables are open-addressing tables of our own,
// indexed by the hash that picks the shard, so each operation hashes its key
// once; their slots come in groups of seven that fill a cache line, with a
// control byte per slot, so that a lookup compares a whole group's tags at
// once and usually touches one line of the table and one entry. A lookup in
// a shard that has a dirty table starts loading the dirty table's group
// while it probes the read table, so that a key missing from the read table
// finds that group in cache once the lock is held.
//
// Each value is an immutable version stamped with a snapshot epoch. Writers
// count themselves in and out of gates striped by goroutine (each stripe on
// its own cache lines, so that writers on different processors do not share
// one). Taking a snapshot closes every gate, waits for the writes in flight to
// finish, advances the epoch, keeps each shard's read map and reopens the
// gates; that instant with no write in flight is the snapshot's linearization
// point. A write made afterwards links the versions that open snapshots still
// see, so they find them. While no snapshot is open no history is kept, and a
// version is just the value and a word: an entry holds its key, half its
// hash, a pin count, its current version and a version of its own (48 bytes
// with string keys and int values), and an update allocates 16 bytes. A
// value of one machine word (an int, uint, float64 or pointer) is then
// copied back into the entry's own version, so that loading it takes one
// cache miss less; writers that need the value they replace pin that
// version while they read it, and every access to it is atomic, so the race
// detector checks the same code that runs in production.
//
// # Guarantees
//
//   - Point operations (Load, Store, LoadOrStore, LoadAndDelete, Delete, Swap,
//     Compute, TryStore, StoreWait, [CompareAndSwap], [CompareAndDelete]) are
//     linearizable.
//   - Range, All, Keys, Values and RangeContext on a Map are weakly consistent,
//     as with sync.Map: each key is visited at most once, and writes made during
//     the iteration may or may not be seen.
//   - A [Snapshot] is an atomic cut across all shards: it holds every write
//     that completed before Snapshot began and none that started after it
//     returned, and iterating it always yields the same entries. Taking one
//     costs O(shards), copies no entries, and afterwards holds only the old
//     versions of entries written since. [Snapshot.Close] releases it; one that
//     is dropped without Close is released by the garbage collector.
//   - [Map.Len] is exact when no write is in flight and costs O(shards);
//     [Snapshot.Len] is always exact.
//   - RangeContext stops within 256 entries after its context is done and
//     returns the context's error; each such stop is counted in
//     [Stats].IteratorCancellations.
//   - Admission control applies only to TryStore and StoreWait, and only to
//     writes that would add a key: [WithMaxEntries] caps the number of entries
//     and [WithInsertRate] limits the rate of inserts. A refused write leaves
//     the map unchanged and returns an error matching [ErrBackpressure]. Store,
//     LoadOrStore, Swap and Compute keep sync.Map's semantics and are never
//     refused, though their inserts count toward the cap.
//   - [Map.Stats] takes no lock and costs O(shards); its counters are exact.
//     Counting adds no write to a shared cache line on the lock-free load path.
//   - Loads are counted only for an [Observer] with a [LoadCounter] (package
//     instrumented): exactly, with one atomic add per load on a stripe of
//     goroutines with its own cache lines. A map without one pays a nil test.
//   - [Snapshot.WriteTo] streams a snapshot in a versioned format (magic,
//     version, codec, types of K and V, entry count, entries in chunks of at
//     most 64 KiB, CRC-32C) holding one batch of entries at a time; whatever
//     it writes, [Map.ReadFrom] reads. ReadFrom decodes and verifies a whole
//     stream before it stores anything, so a damaged, truncated or foreign
//     stream is refused whole with an error matching [ErrCorrupt] and the map
//     unchanged; its memory grows with the entries it has read, never with
//     what a header announces. An error of the writer or reader is returned
//     wrapped, as such. Package persist keeps such streams in files, Redis or
//     Badger.
//   - Format version 2 records a fingerprint of K and V: their names and, for
//     structs, the names, types and tags of their exported fields. A stream
//     of other types is refused with a [*TypeMismatchError] (matching
//     [ErrTypeMismatch] and ErrCorrupt); [AllowTypeChange] reads it for a
//     deliberate schema migration. Compatibility: a build reads every version
//     up to its own and refuses later ones; version-1 streams, which record no
//     types, are read unchecked; a stream is always written in the newest
//     version, so one written by this build is not read by builds older than
//     version 2.
//
// CompareAndSwap and CompareAndDelete are package-level functions because
// they need comparable values, which Map does not require.
//
// # Memory model
//
// A write of a key synchronizes before any read that observes it, as with
// sync.Map: in the terms of the Go memory model, a Store (or any operation
// that writes) is a write operation and a Load that observes its value is a
// read operation that happens after it.
//
// # When not to use it
//
//   - For a map written by one goroutine, or guarded by a lock you already
//     hold, a plain Go map is smaller and faster.
//   - For a write-heavy map of ever-new keys (a churn of inserts and deletes)
//     the read/dirty design pays: every insert takes the shard lock, loads
//     of keys inserted since the last promotion take it too (read misses),
//     and each promotion is followed by a copy of the shard's read map into
//     a fresh dirty map. Such shards promote early, trading copies for
//     misses, but a lock-per-bucket hash table such as xsync's may still
//     serve better; bench/README.md has the measurements. Measure your
//     workload with the loadgen command.
//   - Compute's function may run more than once when other goroutines write
//     the same key at the same time, and must not call methods of the map.
//   - Clear is atomic only shard by shard.
package mapx
