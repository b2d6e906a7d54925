// Command snapshot-export writes consistent JSON exports of a mapx map while
// writers keep rewriting it, and checks each export.
//
//	go -C examples run ./snapshot-export                 # from the repository root; 3s, exports to a temporary folder
//	go -C examples run ./snapshot-export -out ./exports  # keep the exports
//
// Each writer owns a run of keys and rewrites them in order, again and
// again, with a version number that grows by one a sweep. At any instant the
// versions of a writer's keys therefore read v+1, ..., v+1, v, ..., v in key
// order; an export taken from a [mapx.Map.Snapshot] is such an instant, so
// the check (versions never rise along a writer's keys, and differ by at
// most one) holds for every export, however fast the writers go. The same
// export taken with Range on the live map, for contrast, is weakly
// consistent: it usually fails the check.
//
// The export streams: it holds the snapshot, not a copy of the entries, and
// the writers never wait for it.
package main
