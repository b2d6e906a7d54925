package instrumented_test

import (
	"os"
	"strings"
	"testing"

	"github.com/mapx-dev/mapx/instrumented"
)

// TestREADMETable: the README's metric table has one row per row of
// Metrics(), with its name, kind, unit and Prometheus name.
func TestREADMETable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| mapx.") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows[cells[0]] = cells
	}
	for _, m := range instrumented.Metrics() {
		row, ok := rows[m.Name]
		if !ok {
			t.Errorf("README lacks %s", m.Name)
			continue
		}
		delete(rows, m.Name)
		if len(row) != 5 || !strings.HasPrefix(row[1], m.Kind.String()) || row[2] != m.Unit || row[4] != m.Prometheus {
			t.Errorf("README row %q, want kind %s, unit %s, Prometheus %s", row, m.Kind, m.Unit, m.Prometheus)
		}
	}
	for name := range rows {
		t.Errorf("README lists %s, which is not exported", name)
	}
}
