package instrumented

// histogramBuckets are the explicit bucket boundaries, in seconds, each
// histogram advises; a reader with another aggregation (the base-2
// exponential one that package exporters sets on its OTLP reader) ignores
// them. The operation buckets are dense where sampled point operations fall,
// and start at the cost of reading the clock twice (bench/README.md,
// BenchmarkOperationDurations).
var histogramBuckets = [numMetrics][]float64{
	mOperationDuration: {50e-9, 75e-9, 100e-9, 150e-9, 200e-9, 250e-9, 300e-9, 400e-9, 500e-9, 750e-9, 1e-6, 2.5e-6, 10e-6, 100e-6, 1e-3},
	mSnapshotDuration:  {1e-6, 5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 5e-3, 10e-3, 50e-3, 100e-3},
	mIterationDuration: {10e-6, 100e-6, 1e-3, 5e-3, 10e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10},
}

// HistogramBuckets returns the explicit bucket boundaries, in seconds, of the
// histogram named name (an OpenTelemetry name from [Metrics]), or nil.
func HistogramBuckets(name string) []float64 {
	for i, m := range metricTable {
		if m.Name == name {
			return append([]float64(nil), histogramBuckets[i]...)
		}
	}
	return nil
}
