package exporters_test

import (
	"bytes"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/exporters"
	"github.com/mapx-dev/mapx/instrumented"
)

func TestDebugPageMountedNextToMetrics(t *testing.T) {
	tel := setup(t, exporters.WithOTLP("off"), exporters.WithListen("127.0.0.1:0"))
	m := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("mounted"), instrumented.WithMeterProvider(tel.MeterProvider()))
	defer m.Close()
	body := get(t, "http://"+tel.MetricsAddr()+"/debug/mapx?format=json")
	if !bytes.Contains(body, []byte(`"name": "mounted"`)) {
		t.Fatalf("/debug/mapx?format=json lacks the map:\n%s", body)
	}
	if body := get(t, "http://"+tel.MetricsAddr()+"/debug/mapx"); !bytes.Contains(body, []byte("<h1>mapx: live maps</h1>")) {
		t.Fatalf("/debug/mapx is not the page:\n%.300s", body)
	}
}
