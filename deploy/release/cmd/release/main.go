// Command release keeps the versions of mapx's modules in one place.
//
//	release bump -version v0.2.0   rewrite versions and every sibling require
//	release check                  report go.mod files that stray from versions
//	release proxy -out DIR         write a GOPROXY=file://DIR of the published modules
//	release tidy                   go mod tidy every module against that proxy
//
// It finds the repository's root by looking upwards for the versions file;
// the Makefile's bump, tidy and test targets run it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mapx-dev/mapx/deploy/release"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func run(args []string) error {
	if len(args) == 0 {
		return usageError{errors.New("want a subcommand: bump, check, proxy or tidy")}
	}
	fs := flag.NewFlagSet("release "+args[0], flag.ContinueOnError)
	version := fs.String("version", "", "bump: the new release version, vMAJOR.MINOR.PATCH")
	out := fs.String("out", "", "proxy: the folder to write the proxy into")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	root, err := findRoot()
	if err != nil {
		return err
	}
	switch args[0] {
	case "bump":
		if *version == "" {
			return usageError{errors.New("bump: -version is required (make bump VERSION=v0.2.0)")}
		}
		changed, err := release.Bump(root, *version)
		for _, c := range changed {
			fmt.Println("bumped", c)
		}
		if err != nil {
			return err
		}
		return release.Check(root)
	case "check":
		return release.Check(root)
	case "proxy":
		if *out == "" {
			return usageError{errors.New("proxy: -out is required")}
		}
		v, mods, err := release.BuildProxy(root, *out)
		for _, m := range mods {
			fmt.Printf("%s %s\n", m.Path, v.Version)
		}
		return err
	case "tidy":
		return release.Tidy(root, func(s string) { fmt.Println(s) })
	}
	return usageError{fmt.Errorf("unknown subcommand %q: want bump, check, proxy or tidy", args[0])}
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, release.VersionsFile)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s file in this folder or above", release.VersionsFile)
		}
		dir = parent
	}
}
