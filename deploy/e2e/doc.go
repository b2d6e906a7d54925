// Package e2e runs the project end to end with real components: three load
// generators (a leaking map and two healthy ones) scraped every second by
// Debian's Prometheus with the fast variant of the mapx alert rules, and a
// fourth load generator exporting over OTLP through a real OpenTelemetry
// Collector built from Go modules (deploy/collector).
//
// It proves that the growth alert fires for the leaking map and no alert
// exists for the healthy ones, that stopping a third load generator fires
// the absence alert for its map (and for no other), that every Prometheus query of every dashboard
// panel returns data once its template variables are substituted, and that
// the series that arrive through OTLP and the Collector are the ones the
// load generator serves itself.
//
// It needs /usr/bin/prometheus (Debian's prometheus package) and builds
// loadgen and the Collector (about 90 s the first time). Where CI is set, a
// missing prometheus fails the test; elsewhere it skips.
package e2e
