package persist_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/internal/testtool"
	"github.com/mapx-dev/mapx/persist"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// testChunk is the chunk size of the chunked stores under test: small, so
// that a test's generations have many chunks and a load many round trips.
const testChunk = 4096

// startRedis starts a redis-server on a free 127.0.0.1 port, with a
// temporary directory and no persistence, stopped when t ends; it returns
// its address.
func startRedis(t testing.TB) string {
	t.Helper()
	bin := testtool.Path(t, "redis-server", "redis-server")
	var last string
	for range 5 { // another process may take the port first
		addr, log, ok := tryStartRedis(t, bin)
		if ok {
			return addr
		}
		last = log
	}
	t.Fatalf("redis-server did not start:\n%s", last)
	return ""
}

func tryStartRedis(t testing.TB, bin string) (addr, log string, ok bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	dir := t.TempDir()
	logFile := filepath.Join(dir, "redis.log")
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", logFile, "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	readLog := func() string { b, _ := os.ReadFile(logFile); return string(b) }
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			return "", fmt.Sprintf("%v\n%s", err, readLog()), false
		default:
		}
		if ping(addr) {
			t.Cleanup(stop)
			return addr, "", true
		}
	}
	stop()
	return "", "no answer to PING within 20s\n" + readLog(), false
}

func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

func newRedisClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

var redisPrefixes atomic.Int64

// redisOpener opens stores on the server at addr, each with keys of its own.
func redisOpener(addr string) opener {
	return func(t *testing.T, keep int) *harness {
		c := newRedisClient(t, addr)
		prefix := fmt.Sprintf("test%d:", redisPrefixes.Add(1))
		s := persist.NewRedisStore(c, persist.WithKeep(keep), persist.WithChunkSize(testChunk), persist.WithKeyPrefix(prefix))
		ctx := context.Background()
		key := func(name, what string) string { return prefix + "{" + name + "}:" + what }
		chunks := func(name string, gen uint64) string { return key(name, "chunks:"+strconv.FormatUint(gen, 10)) }
		must := func(t *testing.T, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		return &harness{
			store: s,
			flipStream: func(t *testing.T, name string, gen uint64, off int64) {
				field := strconv.FormatInt(off/testChunk, 10)
				b, err := c.HGet(ctx, chunks(name, gen), field).Bytes()
				must(t, err)
				b[off%testChunk] ^= 0x01
				must(t, c.HSet(ctx, chunks(name, gen), field, b).Err())
			},
			metadata: func(t *testing.T, name string, gen uint64) ([]byte, func([]byte)) {
				field := strconv.FormatUint(gen, 10)
				b, err := c.HGet(ctx, key(name, "manifests"), field).Bytes()
				must(t, err)
				return b, func(m []byte) { must(t, c.HSet(ctx, key(name, "manifests"), field, m).Err()) }
			},
			dropEnd: func(t *testing.T, name string, gen uint64) {
				n, err := c.HLen(ctx, chunks(name, gen)).Result()
				must(t, err)
				must(t, c.HDel(ctx, chunks(name, gen), strconv.FormatInt(n-1, 10)).Err())
			},
			stored: func(t *testing.T, name string) []uint64 {
				keys, err := c.Keys(ctx, key(name, "*")).Result()
				must(t, err)
				gens, err := c.ZRange(ctx, key(name, "gens"), 0, -1).Result()
				must(t, err)
				fields, err := c.HKeys(ctx, key(name, "manifests")).Result()
				must(t, err)
				for _, k := range keys {
					if g, ok := strings.CutPrefix(k, key(name, "chunks:")); ok {
						gens = append(gens, g)
					}
				}
				var out []uint64
				for _, g := range append(gens, fields...) {
					n, err := strconv.ParseUint(g, 10, 64)
					must(t, err)
					out = append(out, n)
				}
				slices.Sort(out)
				return slices.Compact(out)
			},
		}
	}
}

func TestRedisStore(t *testing.T) {
	testStore(t, redisOpener(startRedis(t)))
}

// probe is a source that writes half of a stream, calls f, and writes the
// rest.
type probe struct {
	data []byte
	f    func()
}

func (p probe) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(p.data[:len(p.data)/2])
	if err != nil {
		return int64(n), err
	}
	p.f()
	m, err := w.Write(p.data[len(p.data)/2:])
	return int64(n + m), err
}

// The chunks of a save in progress expire unless the save goes on; the
// switch makes them permanent, and refuses a generation whose chunks
// expired.
func TestRedisStorePendingChunks(t *testing.T) {
	addr := startRedis(t)
	c := newRedisClient(t, addr)
	ctx := context.Background()
	s := persist.NewRedisStore(c, persist.WithChunkSize(testChunk), persist.WithPendingTTL(time.Minute))
	data := snapshotBytes(t, tagged(1, 5000))
	chunks := func(gen int) string { return fmt.Sprintf("mapx:{p}:chunks:%d", gen) }

	var pttl time.Duration
	g, err := s.Save(ctx, "p", probe{data, func() { pttl = c.PTTL(ctx, chunks(1)).Val() }})
	if err != nil {
		t.Fatal(err)
	}
	if pttl <= 0 || pttl > time.Minute {
		t.Fatalf("the chunks of a save in progress have a time to live of %v, want up to 1m", pttl)
	}
	if ttl := c.PTTL(ctx, chunks(1)).Val(); ttl != -1 {
		t.Fatalf("the chunks of a saved generation have a time to live of %v, want none (-1)", ttl)
	}

	_, err = s.Save(ctx, "p", probe{data, func() { c.Del(ctx, chunks(2)) }}) // as if they expired
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("save of a generation whose first chunks expired: %v", err)
	}
	if got := generations(t, s, "p"); !slices.Equal(got, []uint64{g.Number}) {
		t.Fatalf("generations %v, want only %d", got, g.Number)
	}
	if n := c.Exists(ctx, chunks(2)).Val(); n != 0 {
		t.Fatal("the refused save left chunks behind")
	}
	if tag, _ := loadTag(t, s, "p"); tag != 1 {
		t.Fatalf("loaded tag %d", tag)
	}
}

// A lost generation counter (evicted, deleted) does not make a save reuse
// the number of a generation or of chunks being written.
func TestRedisStoreLostCounter(t *testing.T) {
	c := newRedisClient(t, startRedis(t))
	ctx := context.Background()
	s := persist.NewRedisStore(c, persist.WithChunkSize(testChunk))
	g := save(t, s, "lost", 1, 3000)
	if err := c.Del(ctx, "mapx:{lost}:seq").Err(); err != nil {
		t.Fatal(err)
	}
	pending := fmt.Sprintf("mapx:{lost}:chunks:%d", g.Number+1) // of a save in progress elsewhere
	if err := c.HSet(ctx, pending, "0", "partial").Err(); err != nil {
		t.Fatal(err)
	}
	if g2 := save(t, s, "lost", 2, 3000); g2.Number != g.Number+2 {
		t.Fatalf("generation %d after %d and one being written", g2.Number, g.Number)
	}
	if got := generations(t, s, "lost"); !slices.Equal(got, []uint64{g.Number + 2, g.Number}) {
		t.Fatalf("generations %v", got)
	}
	for _, n := range []uint64{g.Number, g.Number + 2} {
		m := mapx.New[string, int]()
		if _, err := s.LoadGeneration(ctx, "lost", n, m); err != nil {
			t.Fatal(err)
		}
		tagOf(t, m)
	}
}

// A store whose Redis is unreachable returns clear errors, leaves the map
// alone and leaves no goroutine behind.
func TestRedisStoreUnreachable(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	// Fewer retries than the defaults, only to keep the test short.
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1, DialerRetries: 2, DialerRetryTimeout: 10 * time.Millisecond})
	defer func() {
		c.Close()
		noGoroutinesLeft(t, before)
	}()
	s := persist.NewRedisStore(c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	check := func(op string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "redis store") {
			t.Fatalf("%s: error %v, want one that names the store and the refused connection", op, err)
		}
		if errors.Is(err, mapx.ErrCorrupt) || errors.Is(err, persist.ErrNotFound) {
			t.Fatalf("%s: an unreachable Redis is reported as damage or absence: %v", op, err)
		}
	}
	m := sentinel()
	_, err = s.Load(ctx, "sessions", m)
	check("Load", err)
	untouched(t, m, "a failed load")
	_, err = persist.SaveMap(ctx, s, "sessions", tagged(1, 100))
	check("Save", err)
	_, err = s.List(ctx, "sessions")
	check("List", err)

	errs := make(chan error, 1)
	a := persist.StartAutosave(tagged(1, 10), s, "sessions", time.Millisecond, persist.WithErrorHandler(func(err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	select {
	case err := <-errs:
		check("autosave", err)
	case <-time.After(time.Minute):
		t.Fatal("no periodic save reported an error")
	}
	check("autosave on Close", a.Close(ctx))
}

// noGoroutinesLeft fails unless the goroutines started since before end
// within a generous time: go-redis's dial prober, which a client starts
// after many failed dials, sleeps a second before it sees that its client
// was closed.
func noGoroutinesLeft(t *testing.T, before goleak.Option) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = goleak.Find(before); err == nil {
			return
		}
	}
	t.Fatal(err)
}
