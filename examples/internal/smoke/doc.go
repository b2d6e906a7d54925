// Package smoke runs an example program in a real subprocess from its
// tests: the test binary, re-executed with an environment variable set, runs
// the program's main instead of the tests. So each program's smoke test
// needs no separate go build, and runs the program built with the test's
// flags (-race included). It also reads values out of Prometheus text.
//
// Run never leaves the subprocess behind: it is killed at the timeout. It
// is for the examples' tests only (it imports package testing); the
// programs get no standard input and no terminal.
package smoke
