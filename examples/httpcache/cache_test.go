package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapx-dev/mapx/examples/internal/smoke"
	"go.opentelemetry.io/otel/metric/noop"
)

func TestMain(m *testing.M) { smoke.Main(m, main) }

// fixture is a cache in front of a counting upstream, served by httptest.
type fixture struct {
	cache    *cache
	srv      *httptest.Server
	upstream *httptest.Server
	calls    atomic.Int64
	status   atomic.Int64 // what the upstream answers
}

func newFixture(t *testing.T, o options) *fixture {
	f := &fixture{}
	f.status.Store(http.StatusOK)
	f.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		w.WriteHeader(int(f.status.Load()))
		fmt.Fprintf(w, "body of %s", r.URL.Path)
	}))
	o.upstream = f.upstream.URL
	if o.ttl == 0 {
		o.ttl = time.Hour
	}
	f.cache = newCache(o, noop.NewMeterProvider())
	mux := http.NewServeMux()
	f.cache.routes(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.srv.Close()
		f.upstream.Close()
		_ = f.cache.Close()
	})
	return f
}

func (f *fixture) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
	}
	return resp, b.String()
}

func TestMissThenHit(t *testing.T) {
	f := newFixture(t, options{})
	r1, b1 := f.get(t, "/cache/a/b")
	r2, b2 := f.get(t, "/cache/a/b")
	if r1.Header.Get("X-Cache") != "MISS" || r2.Header.Get("X-Cache") != "HIT" || b1 != "body of /a/b" || b2 != b1 {
		t.Errorf("first %s %q, second %s %q", r1.Header.Get("X-Cache"), b1, r2.Header.Get("X-Cache"), b2)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("upstream called %d times, want 1", n)
	}
}

func TestRefusedStoreIs503WithRetryAfterAndSparesTheUpstream(t *testing.T) {
	f := newFixture(t, options{maxEntries: 2, ttl: 7 * time.Second})
	f.get(t, "/cache/a")
	f.get(t, "/cache/b")
	resp, _ := f.get(t, "/cache/c")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "7" {
		t.Errorf("third key: %s, Retry-After %q; want 503 and 7 (the TTL)", resp.Status, resp.Header.Get("Retry-After"))
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("upstream called %d times, want 2: a refused key must not be fetched", n)
	}
	if st := f.cache.m.Stats(); st.RejectedCapacity != 1 || st.Entries != 2 {
		t.Errorf("stats %+v", st)
	}
	// A cached key is still served.
	if resp, _ := f.get(t, "/cache/a"); resp.StatusCode != http.StatusOK {
		t.Errorf("cached key: %s", resp.Status)
	}
}

func TestInsertRateRefusalRetriesAfterASecond(t *testing.T) {
	f := newFixture(t, options{insertRate: 0.001}) // a burst of 1, then nothing for 1000s
	f.get(t, "/cache/a")
	resp, _ := f.get(t, "/cache/b")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("%s, Retry-After %q; want 503 and 1", resp.Status, resp.Header.Get("Retry-After"))
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	f := newFixture(t, options{})
	f.status.Store(http.StatusInternalServerError)
	if resp, _ := f.get(t, "/cache/x"); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("%s, want the upstream's 500", resp.Status)
	}
	f.status.Store(http.StatusOK)
	if resp, _ := f.get(t, "/cache/x"); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cache") != "MISS" {
		t.Errorf("after an error: %s %s, want a fresh fetch", resp.Status, resp.Header.Get("X-Cache"))
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("upstream called %d times, want 2", n)
	}
}

func TestSweepDeletesExpiredEntries(t *testing.T) {
	f := newFixture(t, options{ttl: time.Minute})
	now := time.Now()
	f.cache.now = func() time.Time { return now }
	f.get(t, "/cache/old")
	now = now.Add(30 * time.Second)
	f.get(t, "/cache/new")
	now = now.Add(45 * time.Second) // old is 75s old, new 45s
	if n := f.cache.sweep(); n != 1 {
		t.Errorf("swept %d, want 1", n)
	}
	if _, ok := f.cache.m.Load("old"); ok {
		t.Error("old is still cached")
	}
	if _, ok := f.cache.m.Load("new"); !ok {
		t.Error("new was swept")
	}
}

// The admin stream is a snapshot: exactly the header's entries, each once,
// while writers keep adding entries.
func TestAdminSnapshotIsConsistentWhileWritersRun(t *testing.T) {
	f := newFixture(t, options{})
	const n = 2000
	for i := range n {
		f.cache.m.Store(fmt.Sprintf("k%d", i), &entry{done: closed()})
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a writer that keeps inserting
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				f.cache.m.Store(fmt.Sprintf("new%d", i), &entry{done: closed()})
			}
		}
	}()
	var added atomic.Int64
	f.cache.streamed = func(context.Context) { added.Store(int64(f.cache.m.Len() - n)) }
	header, lines, keys := readAll(t, f.srv.URL)
	close(stop)
	<-done
	if header.Entries < n || lines != header.Entries || len(keys) != lines {
		t.Errorf("header %d entries, %d lines, %d distinct keys; want equal, at least %d", header.Entries, lines, len(keys), n)
	}
	if added.Load() == 0 {
		t.Log("the writer added nothing while the stream ran; the check was weaker")
	}
}

func closed() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func readAll(t *testing.T, base string) (snapshotHeader, int, map[string]bool) {
	t.Helper()
	resp, err := http.Get(base + "/admin/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var h snapshotHeader
	if !sc.Scan() || json.Unmarshal(sc.Bytes(), &h) != nil {
		t.Fatalf("no header: %v", sc.Err())
	}
	keys := map[string]bool{}
	lines := 0
	for sc.Scan() {
		var l snapshotLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		keys[l.Key] = true
		lines++
	}
	return h, lines, keys
}

// A client that goes away cancels the iteration of its snapshot.
func TestAdminSnapshotIsCancelledWhenTheClientGoesAway(t *testing.T) {
	f := newFixture(t, options{})
	for i := range 5000 {
		f.cache.m.Store(fmt.Sprintf("k%d", i), &entry{done: closed()})
	}
	hungUp := make(chan struct{})
	f.cache.streamed = func(ctx context.Context) {
		<-hungUp // the client reads the first batch, then goes away
		select {
		case <-ctx.Done():
		case <-time.After(time.Minute):
			t.Error("the request's context was not cancelled after the client went away")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, lines, err := readSnapshot(ctx, f.srv.URL, 10)
	cancel()
	close(hungUp)
	if err != nil || h.Entries != 5000 || lines != 10 {
		t.Fatalf("header %+v, %d lines, %v", h, lines, err)
	}
	deadline := time.Now().Add(time.Minute)
	for f.cache.streamsCancelled.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c, st := f.cache.streamsCancelled.Load(), f.cache.m.Stats(); c != 1 || st.IteratorCancellations != 1 || f.cache.streamsComplete.Load() != 0 {
		t.Errorf("streams cancelled %d, complete %d, map's iterator cancellations %d; want 1, 0, 1", c, f.cache.streamsComplete.Load(), st.IteratorCancellations)
	}
}

func TestProgramEndsByItself(t *testing.T) {
	stdout := smoke.RunOK(t, time.Minute, "-duration", "2s", "-addr", "127.0.0.1:0", "-keys", "100", "-max-entries", "40", "-insert-rate", "0")
	var clients, requests, hits, misses, refused int
	var dur string
	if _, err := fmt.Sscanf(lineWith(stdout, "traffic:"), "traffic: %d clients for %s %d requests, %d hits, %d misses (fetched upstream), %d refused",
		&clients, &dur, &requests, &hits, &misses, &refused); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	// Two clients may miss the same key at once: at least one miss per
	// cached key.
	if hits == 0 || misses < 40 || refused == 0 || hits+misses+refused != requests {
		t.Errorf("requests %d, hits %d, misses %d (want at least 40, the cap), refused %d", requests, hits, misses, refused)
	}
	if !strings.Contains(stdout, "admin snapshot: header says 40 entries, 40 streamed") {
		t.Errorf("output:\n%s", stdout)
	}
	for _, bad := range [][]string{{"-ttl", "0"}, {"-max-entries", "-1"}, {"-clients", "0"}, {"-insert-rate", "-2"}, {"-upstream", "localhost:80"}} {
		if r := smoke.Run(t, time.Minute, bad...); r.Code != 2 || !strings.Contains(r.Stderr, bad[0]) {
			t.Errorf("%q: exit status %d, stderr %q", bad, r.Code, r.Stderr)
		}
	}
}

func lineWith(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
