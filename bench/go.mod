module github.com/mapx-dev/mapx/bench

go 1.26.0

require github.com/mapx-dev/mapx v0.1.0

require github.com/puzpuzpuz/xsync/v4 v4.5.0 // indirect

require (
	github.com/mapx-dev/mapx/instrumented v0.1.0
	go.opentelemetry.io/otel/sdk/metric v1.47.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	go.opentelemetry.io/otel/sdk v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
)

require (
	github.com/mapx-dev/mapx/loadgen v0.1.0
	golang.org/x/sys v0.48.0
)
