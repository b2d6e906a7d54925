// Command loadgen runs a workload on a concurrent map (mapx, instrumented or
// not, sync.Map, xsync, a map behind a RWMutex) and reports throughput,
// latency and the map's internals, while serving Prometheus /metrics; with
// -compare it puts implementations side by side, with -demo it plays the
// phases that README.md describes.
//
//	go -C loadgen run . -workload ycsb-a -duration 30s
//	go -C loadgen run . -demo
//
// The first interrupt (Ctrl-C) stops the run and prints the report; a
// second one exits at once with status 130. Bad flags exit with status 2.
// Package engine does the work and documents the workloads and what the
// numbers mean; internal/cli holds the flags, their defaults and the exit
// statuses. engine is not a benchmark harness (use make bench).
package main
