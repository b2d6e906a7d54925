package instrumented

import "time"

// SetSampleFloorInterval sets how often maps are made to time an operation,
// for groups made from now on, and returns the function that restores it.
func SetSampleFloorInterval(d time.Duration) (restore func()) {
	old := floorInterval.Swap(int64(d))
	return func() { floorInterval.Store(old) }
}

// StartDebugPageRecorder starts the page's recorder sampling every interval
// and returns it, so that a test can add samples on its own clock.
func StartDebugPageRecorder(p *DebugPage, interval time.Duration) (*Recorder, error) {
	p.rec.Interval = interval
	return &p.rec, p.rec.Start()
}
