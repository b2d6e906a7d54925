package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"time"

	"github.com/mapx-dev/mapx/instrumented"
	"github.com/mapx-dev/mapx/loadgen/engine"
)

// advice records the run's instrumented map once a second, so that the end
// of the run can print the advisor's findings and -record can write the
// history the advisor's tests read.
type advice struct {
	rec        *instrumented.Recorder
	name       string
	limits     instrumented.Limits
	thresholds instrumented.Thresholds
}

// startAdvice starts recording the live maps; the run's map is found by
// name at the end.
func startAdvice(name string, maxEntries int) (*advice, error) {
	a := &advice{rec: &instrumented.Recorder{}, name: name, limits: instrumented.Limits{MaxEntries: int64(maxEntries)},
		thresholds: instrumented.DefaultThresholds}
	if ml := debug.SetMemoryLimit(-1); ml != math.MaxInt64 {
		a.limits.MemoryLimit = ml
	}
	return a, a.rec.Start()
}

// history takes a last sample and returns the history of the map named
// a.name, the newest if there are several; ok is false if it has none (an
// implementation without the instrumented wrapper).
func (a *advice) history() (instrumented.History, bool) {
	a.rec.Sample(time.Now())
	hs := a.rec.Histories()
	for j := len(hs) - 1; j >= 0; j-- {
		if hs[j].Name == a.name {
			return hs[j], true
		}
	}
	return instrumented.History{}, false
}

// stop stops recording.
func (a *advice) stop() { _ = a.rec.Close() }

// report writes the findings on the run's map to w, and its history to
// record if it is not empty.
func (a *advice) report(w io.Writer, record string) error {
	h, ok := a.history()
	if !ok {
		fmt.Fprintf(w, "advisor: no instrumented map named %q to judge (it reads maps wrapped by instrumented)\n", a.name)
		if record != "" {
			return fmt.Errorf("-record: no instrumented map named %q was recorded", a.name)
		}
		return nil
	}
	engine.WriteFindings(w, h.Name, a.thresholds.Advise(h, a.limits))
	if record == "" {
		return nil
	}
	b, err := json.MarshalIndent(h, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(record, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("-record: %w", err)
	}
	return nil
}
