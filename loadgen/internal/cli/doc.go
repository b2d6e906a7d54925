// Package cli is the loadgen command: its flags and their defaults, its exit
// statuses, the -compare and -demo drivers and the reports they print. It is
// internal because nothing but loadgen's main needs it; the load generator
// itself, for programs that want to drive a map, is package engine.
package cli
