package exporters_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/exporters"
	"github.com/mapx-dev/mapx/instrumented"
)

func ExampleSetup() {
	ctx := context.Background()
	// In a program: exporters.WithListen("127.0.0.1:9464"), and OTLP as
	// the OTEL_EXPORTER_OTLP_* variables say.
	tel, err := exporters.Setup(ctx,
		exporters.WithServiceName("example"),
		exporters.WithListen("127.0.0.1:0"),
		exporters.WithOTLP("off"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Shutdown(ctx)

	sessions := instrumented.Wrap(mapx.New[string, int](),
		instrumented.WithName("sessions"),
		instrumented.WithMeterProvider(tel.MeterProvider()),
		instrumented.WithTracerProvider(tel.TracerProvider()))
	defer sessions.Close()
	sessions.Store("alice", 1)
	sessions.Load("alice")
	sessions.Load("bob")

	resp, err := http.Get("http://" + tel.MetricsAddr() + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "mapx_operations_total{") || strings.HasPrefix(lines.Text(), "mapx_entries{") {
			fmt.Println(lines.Text())
		}
	}
	// Output:
	// mapx_entries{mapx_name="sessions"} 1
	// mapx_operations_total{mapx_name="sessions",mapx_operation="store"} 1
	// mapx_operations_total{mapx_name="sessions",mapx_operation="load",mapx_result="hit"} 1
	// mapx_operations_total{mapx_name="sessions",mapx_operation="load",mapx_result="miss"} 1
}
