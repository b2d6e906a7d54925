package engine

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes the run and the machine it ran on, so that a JSON
// report can be compared with another one knowing what differed.
type Machine struct {
	GoVersion  string    `json:"go_version"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	NumCPU     int       `json:"num_cpu"`
	Start      time.Time `json:"start_time"`
	Args       []string  `json:"args"`
	// Load1 is the one-minute load average at the start (Linux only; -1
	// elsewhere). Busy: it was above NumCPU, so the numbers share the
	// machine with other work.
	Load1 float64 `json:"load_avg_1m"`
	Busy  bool    `json:"busy"`
}

// ReadMachine describes this process and machine now; args are the flags
// the run was given.
func ReadMachine(args []string) Machine {
	m := Machine{
		GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
		Start: time.Now().UTC().Truncate(time.Second), Args: append([]string{}, args...), Load1: loadAverage(),
	}
	m.Busy = m.Load1 > float64(m.NumCPU)
	return m
}

// loadAverage returns the one-minute load average from /proc/loadavg, or -1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
