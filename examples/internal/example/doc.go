// Package example holds what the examples that serve /metrics share: their
// command line (-metrics-addr, -duration, exit status 2 for bad flags, 1 for
// a failure, Ctrl-C to stop) and the printing of their own series as
// Prometheus scrapes them.
//
// It exists to keep the examples short; a real service parses its own flags
// and leaves the scraping to Prometheus.
package example
