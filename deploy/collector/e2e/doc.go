// Package e2e holds the end-to-end tests of the otelcol-mapx collector (the
// main package one folder up) and of deploy/otelcol/config.yaml, the
// configuration the docker-compose stack runs it with. It has no code of its
// own: its tests run the real binary as a separate process, so their test
// binary does not link the collector.
//
//   - TestValidateDeployConfig: otelcol-mapx validate accepts the deploy
//     configuration; TestValidateRejects: it refuses that configuration with
//     one setting broken, so the check can fail.
//   - TestOTLPToPrometheus: a mapx map wrapped by instrumented and exported
//     by the exporters package over OTLP/gRPC, then OTLP/HTTP, reaches the
//     collector's Prometheus endpoint with the names and exact values that
//     its operations make and that the app's own /metrics shows, and its
//     spans reach the endpoint of the otlp_grpc/jaeger exporter.
//
// The tests build the binary into .bin/otelcol-mapx at the repository's root
// with go build (a few seconds when it is up to date, minutes from a cold
// cache), start it on free 127.0.0.1 ports and stop it when they end, pass or
// fail; on Linux the kernel kills it too if the test process dies.
package e2e
