package engine

import "time"

// maxDebt is how far a pacer may fall behind its schedule before it gives
// the debt up: after a stall it catches up at most this much at full speed,
// so that a stopped process does not come back with a burst.
const maxDebt = time.Second

// pacer spaces events at a steady rate whatever the speed of the machine:
// after n events it waits until start + n/rate. It is used by one goroutine.
type pacer struct {
	perEvent float64 // nanoseconds between events
	start    time.Time
	done     int64
	now      func() time.Time
	sleep    func(time.Duration)
}

func newPacer(rate float64, now func() time.Time, sleep func(time.Duration)) *pacer {
	return &pacer{perEvent: float64(time.Second) / rate, start: now(), now: now, sleep: sleep}
}

// wait records n more events and sleeps until the schedule allows the next.
func (p *pacer) wait(n int) {
	p.done += int64(n)
	due := p.start.Add(time.Duration(float64(p.done) * p.perEvent))
	now := p.now()
	switch d := due.Sub(now); {
	case d > 0:
		p.sleep(d)
	case -d > maxDebt:
		p.start = now.Add(-time.Duration(float64(p.done) * p.perEvent))
	}
}

// batchFor returns how many events to run between two waits of a pacer at
// rate: about a millisecond's worth, between 1 and max.
func batchFor(rate float64, most int) int {
	return max(1, int(min(float64(most), rate/1000)))
}

// realSleep sleeps for d, or until stop is closed.
func realSleep(stop <-chan struct{}) func(time.Duration) {
	return func(d time.Duration) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-stop:
		}
	}
}
