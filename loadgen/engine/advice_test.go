package engine

import (
	"bytes"
	"testing"
)

func TestWriteFastest(t *testing.T) {
	var b bytes.Buffer
	WriteFastest(&b, []Report{{Impl: "mapx", Workload: "churn", OpsPerSec: 1e6}, {Impl: "xsync", Workload: "churn", OpsPerSec: 2.5e6}, {Impl: "sync.Map", Workload: "churn", OpsPerSec: 1.25e6}})
	if want := "fastest for churn: xsync, 2.50M ops/s (2.50x mapx, 2.00x sync.Map)\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
