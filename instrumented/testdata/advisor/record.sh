#!/usr/bin/env bash
# Records the advisor's test data: one real loadgen run per workload, its
# map's Stats sampled once a second (loadgen -record). Run from the
# repository root: instrumented/testdata/advisor/record.sh
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
run() { name=$1; shift; go -C loadgen run . -metrics-addr "" -progress off -goroutines 2 -duration 40s -name "$name" -record "$out/$name.json" "$@" >/dev/null; }
run read-mostly -workload read-mostly
run churn -workload churn
run leak -workload leak -leak-rate 2000
run pressure -workload leak -keys 100000 -max-entries 101000 -leak-rate 2000
run small-map -workload read-mostly -keys 50
