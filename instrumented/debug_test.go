package instrumented_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
)

// debugJSON is the part of ?format=json the tests read.
type debugJSON struct {
	Maps []struct {
		ID   uint64 `json:"id"`
		Name string `json:"name"`
		Kind string `json:"kind"`
		Now  struct {
			Entries int64 `json:"entries"`
		} `json:"now"`
		Series []struct {
			Name   string    `json:"name"`
			Values []float64 `json:"values"`
		} `json:"series"`
	} `json:"maps"`
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestDebugPageEscapesNamesAndSetsCSP(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	h := newHarness(t)
	m := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName(evil), instrumented.WithMeterProvider(h.mp))
	defer m.Close()
	s := instrumented.WrapSyncMap(new(sync.Map), instrumented.WithName("debug-sync"), instrumented.WithMeterProvider(h.mp))
	defer s.Close()
	for i := range 100 {
		m.Store(i, i)
		s.Store(i, i)
	}
	page := instrumented.NewDebugPage()
	defer page.Close()
	srv := httptest.NewServer(page)
	defer srv.Close()

	resp, body := get(t, srv.URL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if strings.Contains(body, evil) {
		t.Errorf("the map name is in the page unescaped")
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the map name is not in the page as text")
	}
	if !strings.Contains(body, ">debug-sync<") {
		t.Errorf("the sync.Map is not listed")
	}
	csp := resp.Header.Get("Content-Security-Policy")
	nonce := regexp.MustCompile(`script-src 'nonce-([^']+)'`).FindStringSubmatch(csp)
	if nonce == nil || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("Content-Security-Policy %q: want default-src 'none' and a script nonce", csp)
	}
	if n := strings.Count(body, "<script"); n != 1 || !strings.Contains(body, `<script nonce="`+nonce[1]+`">`) {
		t.Errorf("want one script, with the CSP's nonce; got %d script tags", n)
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://cdn") || strings.Contains(body, " src=") {
		t.Errorf("the page loads an external asset")
	}

	resp, body = get(t, srv.URL+"?format=json")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("the JSON carries the name unescaped for HTML")
	}
	var rep debugJSON
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	found := map[string]int64{}
	for _, mp := range rep.Maps {
		found[mp.Name+"/"+mp.Kind] = mp.Now.Entries
	}
	if found[evil+"/mapx"] != 100 || found["debug-sync/sync.Map"] != 100 {
		t.Errorf("JSON maps %v: want both with 100 entries", found)
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
	post, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", post.StatusCode)
	}
	if resp, _ := get(t, srv.URL+"?format=xml"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("format=xml: status %d, want 400", resp.StatusCode)
	}
}

func TestRecorderStartsLazilyAndStops(t *testing.T) {
	page := instrumented.NewDebugPage()
	srv := httptest.NewServer(page)
	defer srv.Close()
	get(t, srv.URL)
	// Close must stop the sampling goroutine: goleak checks at the end.
	if err := page.Close(); err != nil {
		t.Fatal(err)
	}
	r := &instrumented.Recorder{Interval: -time.Second}
	if err := r.Start(); err == nil || !strings.Contains(err.Error(), "Recorder.Interval") {
		t.Errorf("Start with a negative Interval: %v, want an error naming Recorder.Interval", err)
	}
}

func TestRecorderRatesLatencyAndBound(t *testing.T) {
	h := newHarness(t)
	m := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("recorder-rates"),
		instrumented.WithMeterProvider(h.mp), instrumented.WithDurationSampling(1))
	defer m.Close()
	r := &instrumented.Recorder{Samples: 5}
	t0 := time.Now()
	r.Sample(t0)
	for i := range 1000 {
		m.Store(i, i)
		m.Load(i)
	}
	r.Sample(t0.Add(time.Second))
	hist := historyOf(t, r, "recorder-rates")
	if got := hist.OperationsPerSecond["load"]; got != 1000 {
		t.Errorf("load/s = %v, want 1000", got)
	}
	last := hist.Samples[len(hist.Samples)-1]
	if last.Entries != 1000 || last.Loads != 1000 || last.LatencyP99 <= 0 || last.LatencyP50 > last.LatencyP99 {
		t.Errorf("last sample %+v: want 1000 entries and loads, 0 < p50 <= p99", last)
	}
	for i := range 10 {
		r.Sample(t0.Add(time.Duration(2+i) * time.Second))
	}
	hist = historyOf(t, r, "recorder-rates")
	if n := len(hist.Samples); n != 5 {
		t.Errorf("%d samples kept, want the bound, 5", n)
	}
	if !hist.Samples[4].Time.Equal(t0.Add(11 * time.Second)) {
		t.Errorf("newest sample at %v", hist.Samples[4].Time)
	}
	m.Close()
	r.Sample(t0.Add(12 * time.Second))
	for _, h := range r.Histories() {
		if h.Name == "recorder-rates" {
			t.Errorf("a closed map is still recorded")
		}
	}
}

func historyOf(t *testing.T, r *instrumented.Recorder, name string) instrumented.History {
	t.Helper()
	for _, h := range r.Histories() {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no history of %q", name)
	return instrumented.History{}
}

func TestDroppedWrapperLeavesThePage(t *testing.T) {
	func() {
		m := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("dropped"))
		m.Store(1, 1)
	}()
	r := &instrumented.Recorder{}
	for i := 0; ; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		r.Sample(time.Now())
		if !slices.ContainsFunc(r.Histories(), func(h instrumented.History) bool { return h.Name == "dropped" }) {
			return
		}
		if i == 100 {
			t.Fatal("a wrapper dropped without Close is still listed after 100 collections")
		}
	}
}
