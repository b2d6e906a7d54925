package mapx

import "time"

// Stats are a Map's internal counters. Counters count events since the map
// was made and are exact; gauges (Entries, DirtyEntries, ActiveSnapshots) are
// exact when no write is in flight.
type Stats struct {
	Entries                int64 // live entries, as [Map.Len]
	DirtyEntries           int64 // entries in the shards' dirty maps, deleted ones included
	ReadMisses             int64 // reads that missed the read map and took a shard lock
	Promotions             int64 // dirty maps promoted to read maps
	IteratorCancellations  int64 // iterations stopped because their context was done
	BackpressureRejections int64 // writes refused by admission control
	ActiveSnapshots        int64 // snapshots not yet closed or collected

	RejectedCapacity int64 // refusals because of [WithMaxEntries]
	RejectedRate     int64 // refusals because of [WithInsertRate]
	Shards           int64

	EntryLimit        int64         // the cap of [WithMaxEntries]; 0 if none
	OldestSnapshotAge time.Duration // how long the oldest open snapshot has been open; 0 if none
}

// Stats returns the map's counters. It takes no lock and time proportional
// to the number of shards.
func (m *Map[K, V]) Stats() Stats {
	c := m.core()
	st := Stats{
		IteratorCancellations: c.iterCancels.Load(),
		ActiveSnapshots:       c.nOpen.Load(),
		RejectedCapacity:      c.rejected[ReasonCapacity].Load(),
		RejectedRate:          c.rejected[ReasonRate].Load(),
		Shards:                int64(len(c.shards)),
		EntryLimit:            c.maxEntries,
		OldestSnapshotAge:     c.taken.age(),
	}
	st.BackpressureRejections = st.RejectedCapacity + st.RejectedRate
	for i := range c.shards {
		s := &c.shards[i]
		st.Entries += s.count.Load()
		st.DirtyEntries += s.dirtyLen.Load()
		st.ReadMisses += s.readMisses.Load()
		st.Promotions += s.promotions.Load()
	}
	return st
}
