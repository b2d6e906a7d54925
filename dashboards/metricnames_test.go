package dashboards_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/mapx-dev/mapx/dashboards"
	"github.com/mapx-dev/mapx/instrumented"
)

// exported returns the Prometheus names /metrics has for package
// instrumented: its metric table's names, a histogram's _bucket, _sum and
// _count series, and the label names of its attributes.
func exported() map[string]bool {
	names := map[string]bool{"mapx_name": true}
	for _, m := range instrumented.Metrics() {
		names[m.Prometheus] = true
		if m.Kind == instrumented.Histogram {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[m.Prometheus+s] = true
			}
		}
		for _, a := range m.Attributes {
			names[strings.ReplaceAll(a, ".", "_")] = true
		}
	}
	return names
}

// identifier is a PromQL metric or label name; recording-rule names hold
// colons and are defined by the rules themselves.
var identifier = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)

// TestMetricNamesExist: every mapx_* name the generated dashboards and rules
// (and the rule tests) use, and every one in Default's Config, is one that
// package instrumented exports, so a rename in its metric table cannot leave
// a query reading nothing.
func TestMetricNamesExist(t *testing.T) {
	known := exported()
	check := func(where, name string) {
		if strings.HasPrefix(name, "mapx_") && !strings.Contains(name, ":") && !known[name] {
			t.Errorf("%s uses %s, which package instrumented does not export", where, name)
		}
	}
	files, err := dashboards.Generate()
	if err != nil {
		t.Fatal(err)
	}
	tests, _ := filepath.Glob(filepath.Join("prometheus", "tests", "*.y*ml"))
	for _, p := range tests {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, dashboards.File{Path: p, Data: data})
	}
	used := 0
	for _, f := range files {
		for _, name := range identifier.FindAllString(string(f.Data), -1) {
			if strings.HasPrefix(name, "mapx_") {
				used++
			}
			check(f.Path, name)
		}
	}
	if used == 0 {
		t.Fatal("no mapx_ name found in the generated files: the test reads nothing")
	}
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.String:
			check("Config"+path, v.String())
		}
	}
	walk("", reflect.ValueOf(dashboards.Default()))
}
