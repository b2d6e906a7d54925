// Command gen writes the generated dashboards and rule files of package
// dashboards. Run it in the dashboards folder:
//
//	go run ./cmd/gen
//
// -dir writes them under another folder.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mapx-dev/mapx/dashboards"
)

func main() {
	dir := flag.String("dir", ".", "the dashboards folder to write the files under")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := dashboards.Generate()
	if err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", p)
	}
	return nil
}
