package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	"github.com/mapx-dev/mapx/internal/testtool"
)

// xssName is a map name that would run a script if the page did not escape it.
const xssName = `<script>alert(1)</script>`

// pageJSON is the part of /debug/mapx?format=json the test compares.
type pageJSON struct {
	Maps []struct {
		ID      uint64    `json:"id"`
		Name    string    `json:"name"`
		Kind    string    `json:"kind"`
		Sampled time.Time `json:"sampled"`
		Now     struct {
			Entries             int64    `json:"entries"`
			DirtyEntries        int64    `json:"dirty_entries"`
			ReadMissesPerSecond *float64 `json:"read_misses_per_second"`
			OperationsPerSecond *float64 `json:"operations_per_second"`
			LatencyP99Seconds   float64  `json:"latency_p99_seconds"`
		} `json:"now"`
		Findings []struct {
			Kind     string `json:"kind"`
			Severity string `json:"severity"`
		} `json:"findings"`
	} `json:"maps"`
}

// row is one map's row of the page's table, as the browser shows it.
type row struct {
	ID      string            `json:"id"`
	Sampled string            `json:"sampled"`
	Fields  map[string]string `json:"fields"`
}

const readRows = `Array.from(document.querySelectorAll("#maps tbody tr")).map(tr => ({
	id: tr.dataset.mapId, sampled: tr.dataset.sampled,
	fields: Object.fromEntries(Array.from(tr.querySelectorAll("td[data-field]")).map(td => [td.dataset.field, td.innerText.trim()]))
}))`

// TestDebugPageInChromium loads /debug/mapx in a real headless Chromium while
// a leaking map and a healthy read-mostly map run in this process.
func TestDebugPageInChromium(t *testing.T) {
	chromium := testtool.Path(t, "chromium", "chromium")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()

	leak := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("leak"))
	defer leak.Close()
	healthy := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("healthy"))
	defer healthy.Close()
	xss := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName(xssName))
	defer xss.Close()
	const keys = 20000
	for i := range keys {
		healthy.Store(i, i)
	}
	xss.Store(1, 1)
	wg.Go(func() { // the leak: 20,000 new keys a second, never deleted
		for k := 0; ctx.Err() == nil; {
			for range 2000 {
				leak.Store(k, k)
				k++
			}
			leak.Load(rand.IntN(k))
			time.Sleep(100 * time.Millisecond)
		}
	})
	wg.Go(func() { // the healthy map: loads, and an update in a hundred
		for i := 0; ctx.Err() == nil; i++ {
			k := rand.IntN(keys)
			if i%100 == 0 {
				healthy.Store(k, i)
			} else {
				healthy.Load(k)
			}
			if i%1000 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	})

	debugPage := instrumented.NewDebugPage()
	defer debugPage.Close()
	srv := httptest.NewServer(debugPage)
	defer srv.Close()

	// The recorder starts on the first request; the advisor needs a few
	// seconds of history before the leak's growth shows.
	var rep pageJSON
	waitFor(t, "the advisor to find the leak", 60*time.Second, func() (bool, string) {
		rep = fetchJSON(t, srv.URL)
		for _, m := range rep.Maps {
			if m.Name == "leak" {
				return hasFinding(m.Findings, "growth"), fmt.Sprintf("leak findings %+v", m.Findings)
			}
		}
		return false, "no map named leak"
	})

	artifacts := os.Getenv("MAPX_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1600, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	t.Run("with JavaScript", func(t *testing.T) {
		tab, cancel := chromedp.NewContext(browser)
		defer cancel()
		var mu sync.Mutex
		var console []string
		messages := chromedp.Console(tab)
		go func() {
			for m, err := range messages {
				if err != nil {
					return
				}
				mu.Lock()
				console = append(console, m.String())
				mu.Unlock()
			}
		}()
		// CSP violations and alerts leave a trace the test reads back.
		if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			window.__csp = [];
			document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
			window.__alerts = 0;
			window.alert = () => { window.__alerts++; };`}); err != nil {
			t.Fatal(err)
		}
		var rows []row
		var rep pageJSON
		// The page and the JSON are two requests: compare them when both
		// show the same sample.
		waitFor(t, "the page and the JSON to show the same sample", 30*time.Second, func() (bool, string) {
			if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/")); err != nil {
				t.Fatal(err)
			}
			var err error
			if rows, err = chromedp.Run(tab, chromedp.Evaluate[[]row](readRows)); err != nil {
				t.Fatal(err)
			}
			rep = fetchJSON(t, srv.URL)
			for _, m := range rep.Maps {
				if m.Name == "leak" {
					for _, r := range rows {
						if r.ID == strconv.FormatUint(m.ID, 10) {
							return r.Sampled == strconv.FormatInt(m.Sampled.UnixNano(), 10), "leak sampled " + r.Sampled
						}
					}
				}
			}
			return false, "no leak row"
		})

		byID := map[string]row{}
		for _, r := range rows {
			byID[r.ID] = r
		}
		seen := map[string]bool{}
		for _, m := range rep.Maps {
			r, ok := byID[strconv.FormatUint(m.ID, 10)]
			if !ok {
				t.Errorf("map %q is in the JSON, not on the page", m.Name)
				continue
			}
			seen[m.Name] = true
			if r.Sampled != strconv.FormatInt(m.Sampled.UnixNano(), 10) {
				continue // sampled between the two requests
			}
			want := map[string]string{
				"name":                   m.Name,
				"kind":                   m.Kind,
				"entries":                strconv.FormatInt(m.Now.Entries, 10),
				"dirty_entries":          strconv.FormatInt(m.Now.DirtyEntries, 10),
				"read_misses_per_second": rate(m.Now.ReadMissesPerSecond),
				"operations_per_second":  rate(m.Now.OperationsPerSecond),
				"latency_p99_seconds":    micros(m.Now.LatencyP99Seconds),
			}
			for f, w := range want {
				if got := r.Fields[f]; got != w {
					t.Errorf("map %q: the page shows %s %q, the JSON %q", m.Name, f, got, w)
				}
			}
		}
		for _, name := range []string{"leak", "healthy", xssName} {
			if !seen[name] {
				t.Errorf("map %q not shown", name)
			}
		}

		type section struct {
			Name     string   `json:"name"`
			Findings []string `json:"findings"`
			Points   []int    `json:"points"`
			Verdict  string   `json:"verdict"`
		}
		sections, err := chromedp.Run(tab, chromedp.Evaluate[[]section](`Array.from(document.querySelectorAll("section.map")).map(s => ({
			name: s.querySelector("h2").firstChild.textContent.trim(),
			findings: Array.from(s.querySelectorAll("li.finding")).map(li => li.dataset.kind),
			points: Array.from(s.querySelectorAll("svg.spark polyline")).map(p => p.points.numberOfItems),
			verdict: s.querySelector("li.finding") ? s.querySelector("li.finding").innerText : ""
		}))`))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]section{}
		for _, s := range sections {
			got[s.Name] = s
		}
		if s := got["leak"]; !contains(s.Findings, "growth") || !strings.Contains(s.Verdict, "growth: entries grow by") {
			t.Errorf("the leak's section: findings %v, first %q; want the growth verdict", s.Findings, s.Verdict)
		}
		if s := got["healthy"]; contains(s.Findings, "growth") || len(s.Findings) == 0 || !strings.HasPrefix(s.Findings[0], "healthy") {
			t.Errorf("the healthy map's findings: %v", s.Findings)
		}
		for _, name := range []string{"leak", "healthy"} {
			pts := got[name].Points
			if len(pts) < 5 {
				t.Errorf("%s: %d sparklines, want at least 5", name, len(pts))
			}
			for i, n := range pts {
				if n < 2 {
					t.Errorf("%s: sparkline %d has %d points", name, i, n)
				}
			}
		}
		if s, ok := got[xssName]; !ok {
			t.Errorf("the map named %s is not shown as text; sections: %v", xssName, sections)
		} else {
			_ = s
		}
		probe, err := chromedp.Run(tab, chromedp.Evaluate[struct {
			CSP     []string `json:"csp"`
			Alerts  int      `json:"alerts"`
			Scripts int      `json:"scripts"`
			Auto    bool     `json:"auto"`
		}](`({csp: window.__csp, alerts: window.__alerts, scripts: document.scripts.length,
			auto: !document.getElementById("auto-label").hidden})`))
		if err != nil {
			t.Fatal(err)
		}
		if len(probe.CSP) > 0 || probe.Alerts > 0 || probe.Scripts != 1 {
			t.Errorf("CSP violations %v, alerts %d, scripts %d: want none, none, one", probe.CSP, probe.Alerts, probe.Scripts)
		}
		if !probe.Auto {
			t.Errorf("the refresh script did not run (its checkbox is hidden)")
		}

		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		shot := filepath.Join(artifacts, "debug-mapx.png")
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", shot)
		if docs := os.Getenv("MAPX_DOCS_SCREENSHOT"); docs != "" {
			if err := os.WriteFile(docs, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot for the docs: %s", docs)
		}

		time.Sleep(200 * time.Millisecond) // let the last console messages arrive
		mu.Lock()
		defer mu.Unlock()
		for _, m := range console {
			if strings.HasPrefix(m, "error") || strings.HasPrefix(m, "exception") || strings.Contains(m, "Content Security Policy") {
				t.Errorf("console: %s", m)
			}
		}
	})

	t.Run("without JavaScript", func(t *testing.T) {
		tab, cancel := chromedp.NewContext(browser)
		defer cancel()
		if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/")); err != nil {
			t.Fatal(err)
		}
		// Evaluate runs through DevTools, which a page's disabled scripts do
		// not stop; the page's own script did not run.
		res, err := chromedp.Run(tab, chromedp.Evaluate[struct {
			Rows   int    `json:"rows"`
			Hidden bool   `json:"hidden"`
			Leak   string `json:"leak"`
		}](`({rows: document.querySelectorAll("#maps tbody tr").length,
			hidden: document.getElementById("auto-label").hidden,
			leak: Array.from(document.querySelectorAll("#maps td[data-field=name]")).map(td => td.innerText).join("|")})`))
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows < 3 || !strings.Contains(res.Leak, "leak") || !strings.Contains(res.Leak, xssName) {
			t.Errorf("without JavaScript: %d rows (%s), want the three maps", res.Rows, res.Leak)
		}
		if !res.Hidden {
			t.Errorf("without JavaScript the refresh checkbox shows, so the page's script ran")
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		shot := filepath.Join(artifacts, "debug-mapx-nojs.png")
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot without JavaScript: %s", shot)
	})
}

func fetchJSON(t *testing.T, base string) pageJSON {
	t.Helper()
	resp, err := http.Get(base + "/?format=json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep pageJSON
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func hasFinding(fs []struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
}, kind string) bool {
	for _, f := range fs {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// rate and micros format the JSON's numbers as the page does.
func rate(r *float64) string {
	if r == nil {
		return "–"
	}
	return strconv.FormatFloat(*r, 'f', 1, 64)
}

func micros(s float64) string {
	if s == 0 {
		return "–"
	}
	return strconv.FormatFloat(s*1e6, 'f', 2, 64) + " µs"
}
