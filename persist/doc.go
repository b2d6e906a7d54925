// Package persist saves the snapshots of [mapx.Map]s to stores and loads
// them back: a [FileStore] (a directory), a [RedisStore] and a
// [BadgerStore] (an embedded database), behind one [Store] interface, and an
// [Autosaver] that saves a map every interval and on shutdown, with
// OpenTelemetry spans and metrics.
//
//	store, err := persist.NewFileStore("/var/lib/app/snapshots")
//	...
//	if _, err := store.Load(ctx, "sessions", m); err != nil && !errors.Is(err, persist.ErrNotFound) {
//		return err
//	}
//	saver := persist.StartAutosave(m, store, "sessions", time.Minute)
//	defer saver.Close(context.Background())
//
// A store keeps the last few saves of each name as numbered generations
// ([WithKeep], default 3). It stores the bytes of [mapx.Snapshot.WriteTo] and
// gives them to [mapx.Map.ReadFrom], so one store serves maps of any types,
// and it checks them with its own size and CRC-32C metadata besides the
// stream's checksum.
//
// # Guarantees
//
//   - Atomic saves: a generation is visible to Load and List only once it is
//     complete. A save that fails (an error, ctx done, the process killed)
//     leaves the store as it was, and what it wrote is not mistaken for a
//     generation: a FileStore writes to a hidden temporary file (removed by
//     the next save of the name); a RedisStore's chunks expire
//     ([WithPendingTTL]); a BadgerStore's are removed by the next save.
//   - Crash safety of a FileStore: a save writes a temporary file in the
//     same directory, fsyncs it, renames it to its final name and fsyncs the
//     directory; only then does it remove the generations beyond the limit.
//     A crash at any point, the process killed or the machine losing power,
//     leaves the previous generation loadable (a filesystem that honours
//     fsync and rename, such as ext4 or XFS, is assumed). The tests kill a
//     saving process with SIGKILL at each step and at many points of the
//     write; a power loss they cannot simulate.
//   - A RedisStore or BadgerStore writes a generation's chunks under keys of
//     its own, then switches to it in one atomic step: a Lua script in
//     Redis, a transaction in Badger. A BadgerStore syncs the database
//     before the save returns; a RedisStore is as durable as the Redis
//     server's persistence makes it.
//   - Verified loads: a load checks the store's metadata (generation, size,
//     CRC-32C) and the stream against it as it reads: a chunk before the
//     map reads it, a file's whole stream before the map reads its end. The
//     map's ReadFrom checks the stream's own checksum, and changes the map
//     only once all of it verified. A damaged generation is refused whole,
//     with an error that matches [mapx.ErrCorrupt], and the map is
//     unchanged. (A destination other than a *mapx.Map must likewise apply
//     nothing before it has read all of its input; see [Store.Load].)
//   - An error of the store itself (Redis unreachable, a file unreadable, ctx
//     done) is returned as it is, and never matches mapx.ErrCorrupt.
//
// # When the newest generation is damaged
//
// Load falls back: it loads the newest generation that verifies and
// reports each newer one it refused in [Loaded].Skipped, newest first. A
// save cannot leave a damaged generation (see above), so a damaged one
// means the storage itself failed: a flipped bit, a truncated or edited
// file, an evicted Redis key. The data of the skipped generations is lost to
// the load; a caller that would rather stop than load older data checks
// len(Skipped). When no generation verifies, Load loads nothing and its
// error matches mapx.ErrCorrupt; when there is none, [ErrNotFound].
// [FileStore.LoadGeneration] (and the same method of the other stores) loads
// one given generation, for a roll back.
//
// Only damage makes Load fall back: if the store fails otherwise, or ctx is
// done, Load stops and returns that error, whatever older generations
// exist. mapx counts a codec mismatch as damage: a map made with another
// [mapx.WithCodec] than the saved one refuses every generation. So it
// counts a type mismatch: a generation saved by a map of other key or value
// types is refused with an error matching [mapx.ErrTypeMismatch] (and
// mapx.ErrCorrupt), and Load goes on to older generations. For a deliberate
// schema migration, load into m.ReaderFrom([mapx.AllowTypeChange]()).
//
// # Format versions
//
// A store keeps the bytes of the stream as they are, so a generation has
// the format version of the mapx that saved it: version 2 since the stream
// records the types of K and V, version 1 before. A map reads every version
// up to its own and refuses a later one as damage; version-1 generations
// load unchecked for types. A save always writes the newest version: roll
// a fleet forward before it saves, or older builds will skip the new
// generations. The stores' own framing (MAPXGEN1 files, MAPXMAN1
// manifests) is unchanged. Values of any size save and load: the stream
// cuts a codec's output in chunks of 64 KiB however large a value or batch.
//
// # Concurrency
//
// The stores are safe for concurrent use. Saves of one name get increasing
// generation numbers when they start; a save that finishes after a later one
// may be dropped at once if the limit is reached. A load that reads a
// generation while a save drops it starts again from the newest generation
// (a few times at most); a BadgerStore reads a generation in one
// transaction, which a save does not disturb. A FileStore assumes that it
// alone, in one process, saves to its directory.
//
// # When not to use it
//
//   - For a map that must not lose any acknowledged write: a snapshot holds
//     the map as it was when it was taken, and the writes made since the last
//     save are lost in a crash. Use a write-ahead log or a database.
//   - For a map too large to hold twice in memory: a load decodes the whole
//     generation before it changes the map.
//   - For sharing a map between processes: a load merges a generation into a
//     map (keys it does not hold are kept); it does not synchronize them.
//   - RedisStore as the only copy of data that must survive a restart of
//     Redis without RDB or AOF persistence.
package persist
