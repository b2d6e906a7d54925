package instrumented

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"time"
)

//go:embed debug.html
var debugFiles embed.FS

var debugTemplate = template.Must(template.New("debug.html").Funcs(template.FuncMap{
	"rate":   fmtRate,
	"ratio":  fmtRatio,
	"micros": fmtMicros,
	"number": fmtNumber,
	"clock":  func(t time.Time) string { return t.UTC().Format("15:04:05 UTC") },
	"secs": func(s float64) string {
		if s == 0 {
			return ""
		}
		return time.Duration(s * 1e9).Round(time.Second).String()
	},
	"worst": func(fs []Finding) Finding {
		if len(fs) == 0 {
			return Finding{Severity: SeverityInfo, Verdict: "gathering history"}
		}
		return fs[0]
	},
	"sparkW": func() float64 { return sparkWidth },
	"sparkH": func() float64 { return sparkHeight },
}).ParseFS(debugFiles, "debug.html"))

// DebugPage is an http.Handler that shows every live wrapped map of the
// process — its entries, dirty map, misses, promotions, snapshots,
// backpressure, cancellations, operations and sampled latency, sparklines of
// the last 15 minutes and the advisor's findings — like net/http/pprof and
// expvar: mount it and open it. It serves HTML made on the server (it works
// with JavaScript off; a small script only refreshes it) under a strict
// Content-Security-Policy, and the same data as JSON with ?format=json. It
// has no write actions: GET and HEAD only.
//
// Its [Recorder] starts on the first request, so a page nobody opens costs
// nothing. Close stops it.
type DebugPage struct {
	rec Recorder
}

// NewDebugPage returns a debug page with its own [Recorder], sampling every
// DefaultSampleInterval and keeping DefaultHistorySamples a map.
func NewDebugPage() *DebugPage { return &DebugPage{} }

// Close stops the page's recorder; a later request starts it again.
func (p *DebugPage) Close() error { return p.rec.Close() }

// report is the page's data, for the HTML and the JSON alike.
func (p *DebugPage) report() debugReport {
	return buildReport(p.rec.Histories(), p.rec.interval(), p.rec.capacity(), time.Now())
}

func (p *DebugPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "mapx debug page: read only (GET, HEAD)", http.StatusMethodNotAllowed)
		return
	}
	if !p.rec.Running() {
		if err := p.rec.Start(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	rep := p.report()
	switch r.URL.Query().Get("format") {
	case "json":
		h.Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	case "", "html":
	default:
		http.Error(w, "mapx debug page: format must be html or json", http.StatusBadRequest)
		return
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	// Hex: html/template would escape base64's + in the attribute, and the
	// nonce would no longer match.
	n := hex.EncodeToString(nonce[:])
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+n+"'; style-src 'nonce-"+n+"'; img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Type", "text/html; charset=utf-8")
	var b bytes.Buffer
	if err := debugTemplate.Execute(&b, struct {
		debugReport
		Nonce string
	}{rep, n}); err != nil {
		http.Error(w, "mapx debug page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b.Bytes())
}
