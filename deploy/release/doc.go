// Package release cuts and rehearses releases of mapx's published modules.
//
// The file versions at the repository's root names the published modules
// and their one release version. [Bump] rewrites it and every require of a
// published module in every go.mod of the repository; [Check] reports a
// go.mod that strays from it (a sibling at another version, a replace
// directive, a go directive other than [GoDirective]). [BuildProxy] writes a
// Go module proxy directory (GOPROXY=file://...) holding every published
// module at the release version, zipped from the working tree with
// golang.org/x/mod/zip, which is what the release rehearsal (this package's
// tests) and `make tidy` fetch them from.
//
// The command in cmd/release runs these from make (bump, check, proxy,
// tidy).
package release
