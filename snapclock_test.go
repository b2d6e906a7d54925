package mapx_test

import (
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
)

func TestStatsEntryLimit(t *testing.T) {
	if got := mapx.New[int, int]().Stats().EntryLimit; got != 0 {
		t.Errorf("EntryLimit without WithMaxEntries = %d, want 0", got)
	}
	if got := mapx.New[int, int](mapx.WithMaxEntries(500)).Stats().EntryLimit; got != 500 {
		t.Errorf("EntryLimit with WithMaxEntries(500) = %d, want 500", got)
	}
}

func TestStatsOldestSnapshotAge(t *testing.T) {
	m := mapx.New[int, int]()
	if got := m.Stats().OldestSnapshotAge; got != 0 {
		t.Fatalf("OldestSnapshotAge with no snapshot = %v, want 0", got)
	}
	first := m.Snapshot()
	firstTaken := time.Now() // no later than the first snapshot was taken
	time.Sleep(20 * time.Millisecond)
	beforeSecond := time.Now() // no later than the second snapshot was taken
	second := m.Snapshot()
	atLeast := time.Since(firstTaken)
	if got := m.Stats().OldestSnapshotAge; got < atLeast {
		t.Errorf("OldestSnapshotAge = %v, want at least %v, the first snapshot's age", got, atLeast)
	}
	first.Close()
	got := m.Stats().OldestSnapshotAge
	if atMost := time.Since(beforeSecond); got <= 0 || got > atMost {
		t.Errorf("OldestSnapshotAge after closing the oldest = %v, want the second's, in (0, %v]", got, atMost)
	}
	second.Close()
	if got := m.Stats().OldestSnapshotAge; got != 0 {
		t.Errorf("OldestSnapshotAge after closing both = %v, want 0", got)
	}
}
