package persist_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/persist"
)

// The crash test runs the test binary again as a child that saves a large
// snapshot and is killed with SIGKILL at a chosen moment; these variables
// tell the child what to do.
const (
	crashEnvDir  = "PERSIST_CRASH_DIR"  // the store's directory
	crashEnvAt   = "PERSIST_CRASH_AT"   // stage:NAME, offset:BYTES or loop
	crashEnvTag  = "PERSIST_CRASH_TAG"  // the tag of the map the child saves
	crashEnvKeep = "PERSIST_CRASH_KEEP" // the generations the store keeps
	crashReady   = "PERSIST-CRASH-READY"
	crashName    = "big"
)

// big returns the map the crash test saves, 8 MiB: every value is derived
// from tag, so a loaded map tells which save wrote it and whether it is
// whole.
func big(tag uint64) *mapx.Map[string, []byte] {
	m := mapx.New[string, []byte]()
	m.Store("tag", binary.BigEndian.AppendUint64(nil, tag))
	for i := range 512 {
		m.Store(fmt.Sprintf("k-%04d", i), bytes.Repeat(binary.BigEndian.AppendUint64(nil, tag<<32|uint64(i)), 2048))
	}
	return m
}

// bigTag returns the tag of a loaded map, and fails unless the map is all
// that big wrote for it.
func bigTag(t *testing.T, m *mapx.Map[string, []byte]) uint64 {
	t.Helper()
	b, ok := m.Load("tag")
	if !ok || len(b) != 8 {
		t.Fatal("the loaded map has no tag")
	}
	tag := binary.BigEndian.Uint64(b)
	want := big(tag)
	if m.Len() != want.Len() {
		t.Fatalf("the map of tag %d has %d entries, want %d", tag, m.Len(), want.Len())
	}
	for k, v := range want.All() {
		if got, _ := m.Load(k); !bytes.Equal(got, v) {
			t.Fatalf("the map of tag %d differs at %s", tag, k)
		}
	}
	return tag
}

func TestFileStoreCrash(t *testing.T) {
	if os.Getenv(crashEnvDir) != "" {
		crashChild(t)
		return
	}
	// With one generation kept, the previous one must outlive the save
	// that replaces it; with two, the older ones must stay whole.
	t.Run("keep=1", func(t *testing.T) { testCrash(t, 1, false) })
	t.Run("keep=2", func(t *testing.T) { testCrash(t, 2, true) })
}

// testCrash kills savers at each stage of a save and, if thorough, at
// points within the stream and at moments left to chance.
func testCrash(t *testing.T, keep int, thorough bool) {
	dir := t.TempDir()
	s, err := persist.NewFileStore(dir, persist.WithKeep(keep))
	if err != nil {
		t.Fatal(err)
	}
	g, err := persist.SaveMap(context.Background(), s, crashName, big(1))
	if err != nil {
		t.Fatal(err)
	}
	prev, tag := uint64(1), uint64(1)

	var plans []string
	if thorough {
		for _, off := range []int64{0, 1, 100 << 10, 1 << 20, g.Size / 2, g.Size - 4096} {
			plans = append(plans, "offset:"+strconv.FormatInt(off, 10))
		}
	}
	for _, st := range persist.SaveStages {
		plans = append(plans, "stage:"+st)
	}
	renamed := false // the stage reached makes the new generation the newest
	for _, plan := range plans {
		tag++
		renamed = renamed || plan == "stage:renamed"
		runCrashChild(t, dir, plan, tag, keep, 0)
		got, temp := checkAfterCrash(t, s, dir)
		want := prev
		if renamed {
			want = tag
		} else if !temp {
			t.Fatalf("%s: no temporary file left, though the save was killed before its rename", plan)
		}
		if got != want {
			t.Fatalf("killed at %s: loaded tag %d, want %d", plan, got, want)
		}
		t.Logf("killed at %s: loaded tag %d; temporary file left: %v", plan, got, temp)
		prev = got
	}

	// Killed at moments left to chance, while it saves one generation after
	// another.
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("random kill delays with seed %d", seed)
	for range 3 * bool2int(thorough) {
		tag += 100
		delay := time.Duration(rng.IntN(800)) * time.Millisecond
		runCrashChild(t, dir, "loop", tag, keep, delay)
		got, _ := checkAfterCrash(t, s, dir)
		if got != prev && (got < tag || got > tag+100) {
			t.Fatalf("killed after %v: loaded tag %d, want %d or one the child saved (%d on)", delay, got, prev, tag)
		}
		t.Logf("killed after %v: loaded tag %d", delay, got)
		prev = got
	}

	// A save removes the temporary files and the extra generations that
	// the killed ones left.
	if _, err := persist.SaveMap(context.Background(), s, crashName, big(tag+1000)); err != nil {
		t.Fatal(err)
	}
	if temps := tempFiles(t, dir); len(temps) != 0 {
		t.Fatalf("temporary files left after a save: %v", temps)
	}
	if gens := generations(t, s, crashName); len(gens) != keep {
		t.Fatalf("generations %v after a save, want %d", gens, keep)
	}
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var temps []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			temps = append(temps, e.Name())
		}
	}
	return temps
}

// checkAfterCrash checks that every generation listed verifies and holds a
// whole map, and that Load loads the newest without skipping any; it
// returns the tag loaded and whether a temporary file is in dir.
func checkAfterCrash(t *testing.T, s *persist.FileStore, dir string) (uint64, bool) {
	t.Helper()
	ctx := context.Background()
	gens, err := s.List(ctx, crashName)
	if err != nil {
		t.Fatal(err)
	}
	if len(gens) < 1 {
		t.Fatal("no generation listed")
	}
	for i, g := range gens {
		if g.Err != nil {
			t.Fatalf("generation %d: %v", g.Number, g.Err)
		}
		if i == 0 {
			continue // Load below loads it
		}
		m := mapx.New[string, []byte]()
		if _, err := s.LoadGeneration(ctx, crashName, g.Number, m); err != nil {
			t.Fatal(err)
		}
		bigTag(t, m)
	}
	m := mapx.New[string, []byte]()
	res, err := s.Load(ctx, crashName, m)
	if err != nil || len(res.Skipped) != 0 || res.Generation.Number != gens[0].Number {
		t.Fatalf("load after a crash: %+v, %v", res, err)
	}
	return bigTag(t, m), len(tempFiles(t, dir)) > 0
}

// runCrashChild starts a child that saves the map of tag as plan says,
// waits until it is ready, and delay more, and kills it with SIGKILL.
func runCrashChild(t *testing.T, dir, plan string, tag uint64, keep int, delay time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvAt+"="+plan,
		crashEnvTag+"="+strconv.FormatUint(tag, 10), crashEnvKeep+"="+strconv.Itoa(keep))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready, eof := make(chan struct{}), make(chan string)
	go func(ready chan<- struct{}) {
		var out strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == crashReady && ready != nil {
				close(ready)
				ready = nil
				continue
			}
			out.WriteString(sc.Text() + "\n")
		}
		io.Copy(io.Discard, stdout)
		eof <- out.String()
	}(ready)
	killed := false
	select {
	case <-ready:
		time.Sleep(delay)
		killed = cmd.Process.Kill() == nil
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
	case out := <-eof:
		cmd.Wait()
		t.Fatalf("%s: the child ended before it was ready:\n%s%s", plan, out, stderr.String())
	}
	out := <-eof
	err = cmd.Wait()
	if !killed || err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("%s: the child was not killed while saving (%v):\n%s%s", plan, err, out, stderr.String())
	}
}

// crashChild is the child: it saves and is killed.
func crashChild(t *testing.T) {
	dir, plan := os.Getenv(crashEnvDir), os.Getenv(crashEnvAt)
	tag, err := strconv.ParseUint(os.Getenv(crashEnvTag), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	keep, err := strconv.Atoi(os.Getenv(crashEnvKeep))
	if err != nil {
		t.Fatal(err)
	}
	s, err := persist.NewFileStore(dir, persist.WithKeep(keep))
	if err != nil {
		t.Fatal(err)
	}
	m := big(tag)
	ready := func() { fmt.Println(crashReady) }
	wait := func() { // to be killed
		ready()
		for {
			time.Sleep(time.Hour)
		}
	}
	ctx := context.Background()
	switch kind, arg, _ := strings.Cut(plan, ":"); kind {
	case "stage":
		if !slices.Contains(persist.SaveStages, arg) {
			t.Fatalf("unknown stage %q", arg)
		}
		persist.SetSaveHook(func(stage string) {
			if stage == arg {
				wait()
			}
		})
		_, err = persist.SaveMap(ctx, s, crashName, m)
	case "offset":
		off, _ := strconv.ParseInt(arg, 10, 64)
		snap := m.Snapshot()
		defer snap.Close()
		_, err = s.Save(ctx, crashName, stopAt{snap, off, wait})
	case "loop":
		ready()
		for i := uint64(0); err == nil; i++ {
			_, err = persist.SaveMap(ctx, s, crashName, big(tag+i))
		}
	}
	t.Fatalf("%s: the save returned (%v) instead of being killed", plan, err)
}

// stopAt is a source that calls stop when it is about to write byte at.
type stopAt struct {
	src  io.WriterTo
	at   int64
	stop func()
}

func (s stopAt) WriteTo(w io.Writer) (int64, error) {
	return s.src.WriteTo(&stopWriter{w: w, left: s.at, stop: s.stop})
}

type stopWriter struct {
	w    io.Writer
	left int64
	stop func()
}

func (s *stopWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > s.left {
		if _, err := s.w.Write(p[:s.left]); err != nil {
			return 0, err
		}
		s.stop()
	}
	s.left -= int64(len(p))
	return s.w.Write(p)
}
