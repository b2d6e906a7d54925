package cli

import (
	"context"
	"fmt"
	"github.com/mapx-dev/mapx/loadgen/engine"
)

func (l *cli) demo(ctx context.Context) error {
	c := l.c
	o := engine.DemoOptions{
		Phase: engine.DemoPhase, Keys: engine.DemoKeys, Goroutines: engine.DemoGoroutines, Rate: engine.DemoRate, LeakRate: engine.DemoLeakRate,
		Forever: c.Forever, Map: c.mapOptions(l.mp, l.tp), Out: l.stderr, Progress: c.Progress != "off",
	}
	if c.set["duration"] {
		o.Phase = c.Duration
	}
	if c.set["keys"] {
		o.Keys = c.Keys
	}
	if c.set["goroutines"] {
		o.Goroutines = c.Goroutines
	}
	if c.set["rate"] {
		o.Rate = c.Rate
	}
	if c.set["leak-rate"] {
		o.LeakRate = c.LeakRate
	}
	if o.Phase <= 0 {
		return fmt.Errorf("-duration: the demo's phases need a positive length, got %v", o.Phase)
	}
	fmt.Fprintf(l.stderr, "loadgen demo: map %q (mapx-instrumented), %d phases of %v; Ctrl-C stops\n", o.Map.Name, 4, o.Phase)
	if l.metricsAddr != "" {
		fmt.Fprintf(l.stderr, "   try: curl -s http://%s/metrics | grep '^mapx_'\n", l.metricsAddr)
		fmt.Fprintf(l.stderr, "   open: http://%s/debug/mapx (the map's figures, sparklines of each phase and the advisor's verdicts)\n", l.metricsAddr)
	}
	// After each phase, the advisor judges that phase's history.
	adv, err := startAdvice(o.Map.Name, engine.DemoMaxEntries(o))
	if err != nil {
		return err
	}
	defer adv.stop()
	adv.thresholds.Window = o.Phase
	o.AfterPhase = func(string) { _ = adv.report(o.Out, "") }
	phases, err := engine.RunDemo(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(l.stdout, "demo: %d phases run\n", len(phases))
	return nil
}
