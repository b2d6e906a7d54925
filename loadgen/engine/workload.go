package engine

import (
	"fmt"
	"strings"
)

// Kind is a kind of map operation, as counted in a [Report].
type Kind int

// The kinds of operation.
const (
	KindLoad   Kind = iota // Load of a key
	KindUpdate             // write of a key that is expected to exist
	KindInsert             // write of a key never written before
	KindDelete             // Delete of the oldest key (churn)
	KindScan               // a short scan: consecutive keys read in one snapshot
	KindRMW                // read-modify-write of one key through Compute
	numKinds
)

var kindNames = [numKinds]string{"load", "update", "insert", "delete", "scan", "rmw"}

// String returns the kind's name in reports: load, update, insert, delete,
// scan or rmw.
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// opChurn is what a churn worker draws for a write: it inserts a new key or
// deletes the oldest one, in turn, so that the size stays steady.
const opChurn = numKinds

// basis is the denominator of a mix: weights are in hundredths of a percent.
const basis = 10000

// keyMode says which keys a workload reads.
type keyMode int

const (
	keysFixed  keyMode = iota // ranks of the preloaded keys [0, keys)
	keysWindow                // the newest keys: head-1-rank (churn, read-latest)
)

// A Workload is a named operation mix.
type Workload struct {
	Name string
	// Doc is a one-line description, shown by -h.
	Doc string
	// Mix is the expected share of each kind of operation, in [0, 1].
	Mix map[Kind]float64
	// DefaultDist is the key distribution used when -dist is auto.
	DefaultDist string
	// Leak: a paced inserter adds new keys, never deleted, besides the mix.
	Leak bool

	weights []weight // cumulative, in basis units
	keys    keyMode
}

type weight struct {
	upTo int // cumulative
	op   Kind
}

// pick draws the next operation.
func (w *Workload) pick(r *rng) Kind {
	x := int(r.below(basis))
	for _, wt := range w.weights {
		if x < wt.upTo {
			return wt.op
		}
	}
	return w.weights[len(w.weights)-1].op
}

func workload(name, doc, dist string, keys keyMode, leak bool, mix ...any) *Workload {
	w := &Workload{Name: name, Doc: doc, DefaultDist: dist, keys: keys, Leak: leak, Mix: map[Kind]float64{}}
	sum := 0
	for i := 0; i < len(mix); i += 2 {
		op, bp := mix[i].(Kind), mix[i+1].(int)
		sum += bp
		w.weights = append(w.weights, weight{upTo: sum, op: op})
		if op == opChurn {
			w.Mix[KindInsert] += float64(bp) / 2 / basis
			w.Mix[KindDelete] += float64(bp) / 2 / basis
		} else {
			w.Mix[op] += float64(bp) / basis
		}
	}
	if sum != basis {
		panic(fmt.Sprintf("engine: workload %s: weights sum to %d, want %d", name, sum, basis))
	}
	return w
}

// Workloads are the workloads loadgen runs, by -workload name.
var Workloads = []*Workload{
	workload("read-mostly", "99% loads, 1% updates", DistUniform, keysFixed, false,
		KindLoad, 9900, KindUpdate, 100),
	workload("balanced", "75% loads, 25% updates", DistUniform, keysFixed, false,
		KindLoad, 7500, KindUpdate, 2500),
	workload("write-heavy", "50% loads, 50% updates", DistUniform, keysFixed, false,
		KindLoad, 5000, KindUpdate, 5000),
	workload("churn", "50% loads of the newest keys; 25% inserts of ever-new keys, 25% deletes of the oldest (steady size)", DistUniform, keysWindow, false,
		KindLoad, 5000, opChurn, 5000),
	workload("leak", "read-mostly mix, plus a paced inserter of new keys that are never deleted (-leak-rate keys/s)", DistUniform, keysFixed, true,
		KindLoad, 9900, KindUpdate, 100),
	workload("ycsb-a", "YCSB A, update heavy: 50% reads, 50% updates", DistZipf, keysFixed, false,
		KindLoad, 5000, KindUpdate, 5000),
	workload("ycsb-b", "YCSB B, read mostly: 95% reads, 5% updates", DistZipf, keysFixed, false,
		KindLoad, 9500, KindUpdate, 500),
	workload("ycsb-c", "YCSB C, read only", DistZipf, keysFixed, false,
		KindLoad, 10000),
	workload("ycsb-d", "YCSB D, read latest: 95% reads of the newest keys, 5% inserts", DistZipf, keysWindow, false,
		KindLoad, 9500, KindInsert, 500),
	workload("ycsb-e", "YCSB E, short ranges: 95% scans of 1-100 consecutive keys in one snapshot, 5% inserts", DistZipf, keysFixed, false,
		KindScan, 9500, KindInsert, 500),
	workload("ycsb-f", "YCSB F, read-modify-write: 50% reads, 50% Compute", DistZipf, keysFixed, false,
		KindLoad, 5000, KindRMW, 5000),
}

// MaxScan is the longest scan of ycsb-e (YCSB's maxscanlength for workload
// E); lengths are uniform in [1, MaxScan].
const MaxScan = 100

// LookupWorkload returns the workload of that name, or an error that lists
// the valid names.
func LookupWorkload(name string) (*Workload, error) {
	for _, w := range Workloads {
		if w.Name == name {
			return w, nil
		}
	}
	return nil, fmt.Errorf("unknown -workload %q; valid: %s", name, strings.Join(WorkloadNames(), ", "))
}

// WorkloadNames returns the names of [Workloads], in order.
func WorkloadNames() []string {
	names := make([]string, len(Workloads))
	for i, w := range Workloads {
		names[i] = w.Name
	}
	return names
}

// Key distributions, for -dist.
const (
	DistAuto    = "auto" // the workload's own: zipf for ycsb-*, uniform otherwise
	DistUniform = "uniform"
	DistZipf    = "zipf"
)

// newChooser returns the chooser of ranks in [0, n) for dist (not auto).
func newChooser(dist string, n uint64) (chooser, error) {
	switch dist {
	case DistUniform:
		return uniform{n}, nil
	case DistZipf:
		return newZipf(n, ZipfTheta), nil
	}
	return nil, fmt.Errorf("unknown -dist %q; valid: %s, %s, %s", dist, DistAuto, DistUniform, DistZipf)
}
