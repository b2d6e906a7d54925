// Package dashboards generates mapx's Grafana dashboard and Prometheus rules
// from one [Config]: metric and label names, thresholds, windows and UIDs
// live there and nowhere else.
//
// [Overview] builds the overview dashboard with the Grafana Foundation SDK;
// [AlertRules] and [RecordingRules] build the rule files. [Generate] returns
// every generated file, which cmd/gen writes and the tests compare with the
// committed ones:
//
//	go run ./cmd/gen
//
// writes grafana/mapx-overview.json, prometheus/mapx-alerts.yaml and
// prometheus/mapx-recording.yaml from [Default], and
// prometheus/testdata/mapx-alerts-fast.yaml from [Fast]: the same alerts with
// 30s windows and 15s for durations, for an end-to-end test that scrapes
// every second. docs/runbook.md, at the root of the repository, has a section
// per alert.
//
// The tests run promtool (Debian's prometheus package): check rules on the
// rule files and on every panel's query, test rules on the unit tests under
// prometheus/tests, and a query of every panel against the series that a
// real instrumented map exports through the OpenTelemetry Prometheus
// exporter. Without promtool they skip, unless CI is set, where they fail.
package dashboards
