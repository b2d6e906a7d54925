package dashboards

import (
	"encoding/json"
	"fmt"
)

// A File is one generated file; Path is relative to the dashboards folder.
type File struct {
	Path string
	Data []byte
}

// The generated files.
const (
	OverviewPath       = "grafana/mapx-overview.json"
	AlertsPath         = "prometheus/mapx-alerts.yaml"
	RecordingPath      = "prometheus/mapx-recording.yaml"
	FastAlertsPath     = "prometheus/testdata/mapx-alerts-fast.yaml"
	defaultJSONIndent  = "  "
	generatedFileCount = 4
)

// Generate returns every generated file: the overview dashboard, the alert
// and recording rules of Default, and the alert rules of Fast.
func Generate() ([]File, error) {
	files := make([]File, 0, generatedFileCount)
	for _, c := range []Config{Default(), Fast()} {
		if err := c.Validate(); err != nil {
			return nil, err
		}
	}
	d, err := Overview(Default())
	if err != nil {
		return nil, fmt.Errorf("overview dashboard: %w", err)
	}
	j, err := json.MarshalIndent(d, "", defaultJSONIndent)
	if err != nil {
		return nil, fmt.Errorf("overview dashboard: %w", err)
	}
	files = append(files, File{OverviewPath, append(j, '\n')})
	for _, r := range []struct {
		path  string
		rules RuleFile
	}{
		{AlertsPath, AlertRules(Default())},
		{RecordingPath, RecordingRules(Default())},
		{FastAlertsPath, AlertRules(Fast())},
	} {
		y, err := r.rules.YAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.path, err)
		}
		files = append(files, File{r.path, y})
	}
	return files, nil
}
