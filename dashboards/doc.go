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
// windows of seconds and 15s for durations, for an end-to-end test that
// scrapes every second. docs/runbook.md, at the root of the repository, has a
// section per alert.
//
// Like a monitoring mixin, [Config] carries a Selector and the GroupLabels
// the rules aggregate by, besides every threshold and window;
// [Config.Validate] refuses grouping labels that would not tell maps apart.
// The paging alerts are about imminent impact (a map or its process
// predicted to reach a limit, a leak crash-looping the process); the others
// warn after for durations that let warm-ups and daily cycles pass.
//
// The tests run promtool (Debian's prometheus package): check rules on the
// rule files and on every panel's query, test rules on the unit tests under
// prometheus/tests (among them one 48-hour scenario per file: a fast leak, a
// slow one, a crash loop, a warm-up, a daily cycle...), and a query of every
// panel against the series that a real instrumented map exports through the
// OpenTelemetry Prometheus exporter. Without promtool they skip, unless CI is
// set, where they fail.
package dashboards
