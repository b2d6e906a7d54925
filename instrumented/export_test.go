package instrumented

import "time"

// SetSampleFloorInterval sets how often maps are made to time an operation,
// for groups made from now on, and returns the function that restores it.
func SetSampleFloorInterval(d time.Duration) (restore func()) {
	old := floorInterval.Swap(int64(d))
	return func() { floorInterval.Store(old) }
}
