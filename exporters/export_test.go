package exporters

import "time"

// MetricInterval returns the OTLP export interval Setup would use with opts.
func MetricInterval(opts ...Option) (time.Duration, error) {
	c, err := newConfig(opts)
	if err != nil {
		return 0, err
	}
	return c.metricInterval()
}
