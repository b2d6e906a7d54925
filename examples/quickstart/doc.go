// Command quickstart makes a mapx map, wraps it for OpenTelemetry in one
// line, serves Prometheus /metrics, runs a little work on it and, before it
// ends, prints the map's series as Prometheus scrapes them.
//
//	go -C examples run ./quickstart                     # from the repository root; ends after 5s
//	go -C examples run ./quickstart -duration 0         # serve until Ctrl-C
//	curl -s http://127.0.0.1:9464/metrics | grep ^mapx_ # while it runs
//
// It is the smallest complete program: exporters.Setup, instrumented.Wrap,
// Close and Shutdown. It is not a benchmark; see the loadgen command for
// load.
package main
