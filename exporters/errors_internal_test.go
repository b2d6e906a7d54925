package exporters

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestErrorLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newErrorLimiter(time.Minute)
	l.now = func() time.Time { return now }
	down := errors.New("connection refused")
	step := func(err error, want string) {
		t.Helper()
		got := l.filter(err)
		if (got == nil) != (want == "") || got != nil && !strings.Contains(got.Error(), want) {
			t.Fatalf("at %v: filter(%v) = %v, want %q", now, err, got, want)
		}
		if got != nil && !errors.Is(got, err) {
			t.Fatalf("filter(%v) = %v does not wrap it", err, got)
		}
	}
	step(down, "connection refused")
	for range 100 {
		now = now.Add(time.Second / 2)
		step(down, "")
	}
	now = now.Add(11 * time.Second) // a minute after the first
	step(down, "and 100 more failed exports")
	step(errors.New("timeout"), "timeout") // another message passes at once
	step(nil, "")
	step(down, "connection refused") // a new run after a success
}
