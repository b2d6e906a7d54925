package mapx

import (
	"sync/atomic"
	"time"
)

// snapClock remembers when each open snapshot was taken, so that Stats can
// report the age of the oldest: a snapshot left open keeps old versions
// alive, and its age is what an alert can tell from a long iteration.
type snapClock struct {
	taken  map[uint64]time.Time // by epoch; guarded by the core's snapMu
	oldest atomic.Pointer[time.Time]
}

// openedLocked records that the snapshot of epoch was taken now.
func (k *snapClock) openedLocked(epoch uint64) {
	if k.taken == nil {
		k.taken = make(map[uint64]time.Time)
	}
	k.taken[epoch] = time.Now()
	k.publishLocked()
}

// closedLocked forgets the snapshot of epoch.
func (k *snapClock) closedLocked(epoch uint64) {
	delete(k.taken, epoch)
	k.publishLocked()
}

func (k *snapClock) publishLocked() {
	var oldest *time.Time
	for _, t := range k.taken {
		if oldest == nil || t.Before(*oldest) {
			oldest = &t
		}
	}
	k.oldest.Store(oldest)
}

// age returns how long the oldest open snapshot has been open, or 0.
func (k *snapClock) age() time.Duration {
	if t := k.oldest.Load(); t != nil {
		return time.Since(*t)
	}
	return 0
}
