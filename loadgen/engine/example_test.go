package engine_test

import (
	"context"
	"fmt"
	"os"

	"github.com/mapx-dev/mapx/loadgen/engine"
)

func ExampleLookupWorkload() {
	w, err := engine.LookupWorkload("churn")
	if err != nil {
		panic(err)
	}
	fmt.Println(w.Doc)
	for k := range engine.KindRMW + 1 {
		if share, ok := w.Mix[k]; ok {
			fmt.Printf("%s %.0f%%\n", k, 100*share)
		}
	}
	_, err = engine.LookupWorkload("ycsb-z")
	fmt.Println(err)
	// Output:
	// 50% loads of the newest keys; 25% inserts of ever-new keys, 25% deletes of the oldest (steady size)
	// load 50%
	// insert 25%
	// delete 25%
	// unknown -workload "ycsb-z"; valid: read-mostly, balanced, write-heavy, churn, leak, ycsb-a, ycsb-b, ycsb-c, ycsb-d, ycsb-e, ycsb-f
}

// Run a fixed number of operations on a map and report them.
func ExampleRun() {
	t, err := engine.NewTarget("mapx", engine.MapOptions{}, 1000)
	if err != nil {
		panic(err)
	}
	defer t.Close()
	res, err := engine.Run(context.Background(), t, engine.RunConfig{
		Workload: "balanced", Goroutines: 2, MaxOps: 10_000, LeakRate: 2000,
	})
	if err != nil {
		panic(err)
	}
	rep := engine.BuildReport(res)
	fmt.Println(rep.Ops, rep.Entries, rep.Stats.Entries)
	if err := rep.WriteText(os.Stderr); err != nil { // throughput and latency vary
		panic(err)
	}
	// Output: 10000 1000 1000
}
