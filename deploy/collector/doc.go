// Command otelcol-mapx is the OpenTelemetry Collector that mapx's deployment
// runs, built from Go modules rather than taken from a prebuilt image. It
// carries only what the stack needs:
//
//   - receivers: otlp (gRPC and HTTP);
//   - processors: batch, memory_limiter;
//   - exporters: prometheus (from opentelemetry-collector-contrib), otlp
//     (traces on to Jaeger), debug.
//
// Configuration comes from --config with the file:, env: and yaml: schemes
// (a bare path is a file). All the collector's subcommands are there, among
// them validate:
//
//	cd deploy/collector && go build -o ../../.bin/otelcol-mapx .
//	.bin/otelcol-mapx validate --config=deploy/otelcol/config.yaml
//	.bin/otelcol-mapx --config=deploy/otelcol/config.yaml
//
// The collector's dependency tree is large; it lives in this module alone so
// that no other mapx module pulls it in. Every collector module is pinned to
// one release: go.opentelemetry.io/collector v0.165.0 with the stable modules
// at v1.71.0, and opentelemetry-collector-contrib v0.165.1.
//
// The tests in e2e/ (and ../e2e) run go build into .bin/otelcol-mapx at the repository's
// root (a no-op when the binary is up to date), validate
// deploy/otelcol/config.yaml with it, and send a real mapx map's metrics and
// spans through it over OTLP/gRPC and OTLP/HTTP.
package main
