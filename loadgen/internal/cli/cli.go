package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mapx-dev/mapx/exporters"
	"github.com/mapx-dev/mapx/loadgen/engine"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// The defaults of loadgen's flags.
const (
	DefaultImpl          = "mapx-instrumented"
	DefaultWorkload      = "read-mostly"
	DefaultKeys          = 100_000
	DefaultDist          = engine.DistAuto
	DefaultGoroutines    = 4
	DefaultDuration      = 10 * time.Second
	DefaultRate          = 0 // unbounded
	DefaultLeakRate      = 2000
	DefaultName          = "loadgen"
	DefaultSnapshotEvery = 0 // never
	DefaultCancelEvery   = 0 // never
	DefaultMaxEntries    = 0 // no cap
	DefaultInsertRate    = 0 // no limit
	DefaultMetricsAddr   = "127.0.0.1:9464"
	DefaultRounds        = 3
	DefaultReport        = "text"
	DefaultProgress      = "auto"
)

// Exit statuses of [Main].
const (
	ExitOK    = 0
	ExitError = 1 // the run failed
	ExitUsage = 2 // bad flags
)

// Config is loadgen's command line.
type Config struct {
	Impl          string
	Compare       []string
	Rounds        int
	Workload      string
	Dist          string
	Keys          int
	Goroutines    int
	Duration      time.Duration
	Ops           int64
	Rate          float64
	LeakRate      float64
	Name          string
	SnapshotEvery time.Duration
	CancelEvery   time.Duration
	MaxEntries    int
	InsertRate    float64
	MetricsAddr   string
	Pyroscope     string
	Report        string
	Progress      string
	Seed          uint64
	Demo          bool
	Forever       bool
	Record        string // -record: write the map's recorded Stats history here

	set map[string]bool // flags given on the command line
}

// ParseFlags parses loadgen's command line. Flag syntax errors are written
// to stderr by the flag package; the error returned by Validate names the
// offending flag. -h returns flag.ErrHelp.
func ParseFlags(args []string, stderr io.Writer) (*Config, error) {
	c := &Config{set: map[string]bool{}}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var compare string
	fs.StringVar(&c.Impl, "impl", DefaultImpl, "implementation: "+strings.Join(engine.ImplNames(), " | "))
	fs.StringVar(&compare, "compare", "", "comma-separated implementations to run in turn, in interleaved rounds, and compare (ratios to the first)")
	fs.IntVar(&c.Rounds, "rounds", DefaultRounds, "rounds per implementation with -compare; -duration is split between them")
	fs.StringVar(&c.Workload, "workload", DefaultWorkload, "workload: "+strings.Join(engine.WorkloadNames(), " | "))
	fs.StringVar(&c.Dist, "dist", DefaultDist, "key distribution: auto (zipf for ycsb-*, uniform otherwise) | uniform | zipf (theta 0.99)")
	fs.IntVar(&c.Keys, "keys", DefaultKeys, "keys stored before the run; the key space of the reads")
	fs.IntVar(&c.Goroutines, "goroutines", DefaultGoroutines, "goroutines running the mix")
	fs.DurationVar(&c.Duration, "duration", DefaultDuration, "how long to run (0: until interrupted); with -demo, the length of each phase")
	fs.Int64Var(&c.Ops, "ops", 0, "stop after this many operations of the mix (0: no limit)")
	fs.Float64Var(&c.Rate, "rate", DefaultRate, "cap on operations per second, paced by the clock (0: unbounded)")
	fs.Float64Var(&c.LeakRate, "leak-rate", DefaultLeakRate, "keys per second that the leak workload inserts, paced by the clock")
	fs.StringVar(&c.Name, "name", DefaultName, "the mapx.name attribute of the instrumented map")
	fs.DurationVar(&c.SnapshotEvery, "snapshot-every", DefaultSnapshotEvery, "take and iterate a snapshot this often (0: never)")
	fs.DurationVar(&c.CancelEvery, "cancel-every", DefaultCancelEvery, "start an iteration that a deadline cancels this often (0: never)")
	fs.IntVar(&c.MaxEntries, "max-entries", DefaultMaxEntries, "admission control: cap on entries; writes then go through TryStore (0: no cap)")
	fs.Float64Var(&c.InsertRate, "insert-rate", DefaultInsertRate, "admission control: inserts per second; writes then go through TryStore (0: no limit)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", DefaultMetricsAddr, "serve Prometheus /metrics (with Go runtime metrics) on this host:port (empty: do not serve; port 0: a free port)")
	fs.StringVar(&c.Pyroscope, "pyroscope", "", "send continuous profiles to this Pyroscope server (e.g. http://127.0.0.1:4040)")
	fs.StringVar(&c.Report, "report", DefaultReport, "report format: text | json")
	fs.StringVar(&c.Progress, "progress", DefaultProgress, "live progress on stderr once a second: auto (on a terminal) | on | off")
	fs.Uint64Var(&c.Seed, "seed", 0, "seed of the random sources (0: from the clock)")
	fs.BoolVar(&c.Demo, "demo", false, "run the demo: healthy, leak, pressure and recovery phases on the instrumented map")
	fs.BoolVar(&c.Forever, "forever", false, "with -demo: repeat the phases until interrupted")
	fs.StringVar(&c.Record, "record", "", "write the instrumented map's Stats history, sampled once a second, as JSON to this file (the advisor's test data)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: loadgen [flags]\n\nRuns a workload on a concurrent map and reports throughput, latency and the map's internals.\n\nWorkloads:\n")
		for _, w := range engine.Workloads {
			fmt.Fprintf(fs.Output(), "  %-12s %s\n", w.Name, w.Doc)
		}
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if compare != "" {
		for _, s := range strings.Split(compare, ",") {
			c.Compare = append(c.Compare, strings.TrimSpace(s))
		}
	}
	err := c.Validate()
	if fs.NArg() > 0 {
		err = errors.Join(fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args()), err)
	}
	return c, err
}

// impls returns the implementations to run: -compare's, else -impl.
func (c *Config) impls() []string {
	if len(c.Compare) > 0 {
		return c.Compare
	}
	return []string{c.Impl}
}

// Validate checks the settings that the flag package cannot, naming the
// offending flag.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, name := range c.impls() {
		if _, err := engine.LookupImpl(name); err != nil {
			add("-impl/-compare: %v", err)
		}
	}
	if c.set["impl"] && len(c.Compare) > 0 {
		add("-impl and -compare: give one or the other")
	}
	run := c.runConfig()
	if err := run.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Keys < 1 {
		add("-keys: must be at least 1, got %d", c.Keys)
	}
	if c.Rounds < 1 {
		add("-rounds: must be at least 1, got %d", c.Rounds)
	}
	if len(c.Compare) > 0 && c.Duration == 0 && c.Ops == 0 {
		add("-compare: needs a -duration or -ops to split between the rounds")
	}
	if c.MaxEntries < 0 {
		add("-max-entries: must not be negative, got %d", c.MaxEntries)
	} else if c.MaxEntries > 0 && c.MaxEntries < c.Keys {
		add("-max-entries: %d is below -keys %d: the preloaded keys would not fit", c.MaxEntries, c.Keys)
	}
	if !(c.InsertRate >= 0) || c.InsertRate > 1e12 {
		add("-insert-rate: must be between 0 (no limit) and 1e12 inserts/s, got %v", c.InsertRate)
	}
	if c.MaxEntries > 0 || c.InsertRate > 0 {
		for _, name := range c.impls() {
			if im, err := engine.LookupImpl(name); err == nil && !im.Admission {
				add("-max-entries/-insert-rate: %s has no admission control (use mapx or mapx-instrumented)", name)
			}
		}
	}
	if c.Name == "" {
		add("-name: must not be empty")
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			add("-metrics-addr: %q is not host:port: %v", c.MetricsAddr, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add("-metrics-addr: port %q of %q is not a number from 0 to 65535 (0: a free port)", port, c.MetricsAddr)
		}
	}
	if c.Report != "text" && c.Report != "json" {
		add("-report: unknown format %q; valid: text, json", c.Report)
	}
	switch c.Progress {
	case "auto", "on", "off":
	default:
		add("-progress: unknown value %q; valid: auto, on, off", c.Progress)
	}
	if c.Forever && !c.Demo {
		add("-forever: only with -demo")
	}
	if c.Record != "" && (c.Demo || len(c.Compare) > 0 || !strings.HasSuffix(c.Impl, "-instrumented")) {
		add("-record: only for a single run of an instrumented implementation (-impl mapx-instrumented or sync.Map-instrumented)")
	}
	return errors.Join(errs...)
}

func (c *Config) runConfig() engine.RunConfig {
	return engine.RunConfig{
		Workload: c.Workload, Dist: c.Dist, Goroutines: c.Goroutines, Duration: c.Duration, MaxOps: c.Ops,
		Rate: c.Rate, LeakRate: c.LeakRate, SnapshotEvery: c.SnapshotEvery, CancelEvery: c.CancelEvery,
		Admission: c.MaxEntries > 0 || c.InsertRate > 0, Seed: c.Seed,
	}
}

func (c *Config) mapOptions(mp metric.MeterProvider, tp trace.TracerProvider) engine.MapOptions {
	return engine.MapOptions{Name: c.Name, MaxEntries: c.MaxEntries, InsertRate: c.InsertRate, MeterProvider: mp, TracerProvider: tp}
}

// Main runs loadgen with args (without the program name) and returns its
// exit status: [ExitUsage] for bad flags, with a message naming the flag.
// When ctx is done the run stops and the report is still printed.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := ParseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case err != nil:
		// The flag package has printed its own errors (and c is nil).
		if c != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
		}
		return ExitUsage
	}
	opts := []exporters.Option{exporters.WithServiceName("loadgen"), exporters.WithRuntimeMetrics(true)}
	if c.MetricsAddr != "" {
		opts = append(opts, exporters.WithListen(c.MetricsAddr))
	}
	if c.Pyroscope != "" {
		opts = append(opts, exporters.WithPyroscope(c.Pyroscope))
	}
	tel, err := exporters.Setup(ctx, opts...)
	if errors.Is(err, syscall.EADDRINUSE) && !c.set["metrics-addr"] {
		// The default port is taken, most likely by make demo or another
		// loadgen: a second one in another terminal serves on a free port.
		host, _, _ := net.SplitHostPort(c.MetricsAddr)
		fmt.Fprintf(stderr, "loadgen: %s is in use (another loadgen or make demo?); serving /metrics on a free port instead\n", c.MetricsAddr)
		c.MetricsAddr = net.JoinHostPort(host, "0")
		opts = append(opts, exporters.WithListen(c.MetricsAddr))
		tel, err = exporters.Setup(ctx, opts...)
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: telemetry: %v\n", err)
		if errors.Is(err, syscall.EADDRINUSE) {
			fmt.Fprintf(stderr, "loadgen: -metrics-addr %s is in use: pick another port, or -metrics-addr 127.0.0.1:0 for a free one\n", c.MetricsAddr)
		}
		return ExitError
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			fmt.Fprintf(stderr, "loadgen: telemetry shutdown: %v\n", err)
		}
	}()
	if c.MetricsAddr != "" {
		fmt.Fprintf(stderr, "loadgen: metrics at http://%s/metrics\n", tel.MetricsAddr())
		fmt.Fprintf(stderr, "loadgen: maps at http://%s/debug/mapx\n", tel.MetricsAddr())
	}
	cli := &cli{c: c, stdout: stdout, stderr: stderr, mp: tel.MeterProvider(), tp: tel.TracerProvider(), metricsAddr: tel.MetricsAddr(), machine: engine.ReadMachine(args)}
	if m := cli.machine; m.Busy {
		fmt.Fprintf(stderr, "loadgen: warning: the machine is busy (load average %.2f on %d CPUs): other work shares the numbers\n", m.Load1, m.NumCPU)
	}
	cli.progress = c.Progress == "on" || c.Progress == "auto" && isTerminal(stderr)
	switch {
	case c.Demo:
		err = cli.demo(ctx)
	case len(c.Compare) > 0:
		err = cli.compare(ctx)
	default:
		err = cli.single(ctx)
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return ExitError
	}
	return ExitOK
}

type cli struct {
	c              *Config
	stdout, stderr io.Writer
	mp             metric.MeterProvider
	tp             trace.TracerProvider
	progress       bool
	metricsAddr    string // where /metrics is served, or ""
	machine        engine.Machine
}

func (l *cli) onProgress(label func() string) func(engine.Progress) {
	if !l.progress {
		return nil
	}
	return func(p engine.Progress) { fmt.Fprintf(l.stderr, "%s%s\n", label(), engine.FormatProgress(p)) }
}

func (l *cli) single(ctx context.Context) error {
	t, err := engine.NewTarget(l.c.Impl, l.c.mapOptions(l.mp, l.tp), l.c.Keys)
	if err != nil {
		return err
	}
	defer t.Close()
	adv, err := startAdvice(l.c.Name, l.c.MaxEntries)
	if err != nil {
		return err
	}
	defer adv.stop()
	rc := l.c.runConfig()
	rc.OnProgress = l.onProgress(func() string { return "" })
	res, err := engine.Run(ctx, t, rc)
	if err != nil {
		return err
	}
	rep := engine.BuildReport(res)
	rep.Machine = &l.machine
	if l.c.Report == "json" {
		if err := engine.WriteJSON(l.stdout, rep); err != nil {
			return err
		}
		return adv.report(l.stderr, l.c.Record)
	}
	if err := rep.WriteText(l.stdout); err != nil {
		return err
	}
	return adv.report(l.stdout, l.c.Record)
}

// compare runs every implementation for Rounds rounds, interleaved so that
// each sees the same machine noise, each round on a fresh map.
func (l *cli) compare(ctx context.Context) error {
	rc := l.c.runConfig()
	rc.Duration /= time.Duration(l.c.Rounds)
	rc.MaxOps /= int64(l.c.Rounds)
	results := make([]*engine.Result, len(l.c.Compare))
	label := ""
	rc.OnProgress = l.onProgress(func() string { return label })
rounds:
	for round := range l.c.Rounds {
		for i, impl := range l.c.Compare {
			if ctx.Err() != nil {
				break rounds
			}
			label = fmt.Sprintf("[round %d/%d %s] ", round+1, l.c.Rounds, impl)
			res, err := l.round(ctx, impl, rc)
			if err != nil {
				return err
			}
			if results[i] == nil {
				results[i] = res
			} else {
				results[i].Merge(res)
			}
		}
	}
	var reps []engine.Report
	for _, r := range results {
		if r != nil {
			reps = append(reps, engine.BuildReport(r))
		}
	}
	engine.SetRatios(reps)
	for i := range reps {
		reps[i].Machine = &l.machine
	}
	if l.c.Report == "json" {
		engine.WriteFastest(l.stderr, reps)
		return engine.WriteJSON(l.stdout, reps)
	}
	if err := engine.WriteTable(l.stdout, reps); err != nil {
		return err
	}
	engine.WriteFastest(l.stdout, reps)
	return nil
}

func (l *cli) round(ctx context.Context, impl string, rc engine.RunConfig) (*engine.Result, error) {
	t, err := engine.NewTarget(impl, l.c.mapOptions(l.mp, l.tp), l.c.Keys)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return engine.Run(ctx, t, rc)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
