package persist

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A RedisStore keeps generations in Redis, cut in chunks (see
// [WithChunkSize]). The keys of a name share the hash tag {name}, so that a
// Redis Cluster keeps them on one node and the switch can be atomic:
//
//	PREFIX{NAME}:seq          the last generation number given out
//	PREFIX{NAME}:gens         sorted set of the committed generations
//	PREFIX{NAME}:manifests    hash: generation -> manifest (size, time, chunk CRCs)
//	PREFIX{NAME}:chunks:GEN   hash: chunk index -> chunk
//
// A save writes its chunks under a new key with a time to live (see
// [WithPendingTTL]), then one Lua script checks that they are all there,
// makes them permanent, adds the manifest and the generation (the switch),
// and unlinks the generations beyond the limit. A crashed save leaves
// nothing visible, and its chunks expire.
//
// Use a Redis whose eviction policy does not evict these keys (noeviction,
// or a volatile-* policy): an evicted chunk makes its generation damaged.
// Durability is Redis's: with neither RDB nor AOF persistence a restart of
// Redis loses every generation.
type RedisStore struct {
	base
}

// NewRedisStore returns a store on client (a *redis.Client or a
// *redis.ClusterClient). The store does not close the client.
func NewRedisStore(client redis.UniversalClient, opts ...RedisOption) *RedisStore {
	if client == nil {
		panic("persist: NewRedisStore(nil)")
	}
	cfg := configure("NewRedisStore", opts, RedisOption.applyRedis)
	return &RedisStore{base{&chunked{kv: &redisKV{c: client, cfg: cfg}, cfg: cfg}}}
}

type redisKV struct {
	c   redis.UniversalClient
	cfg storeConfig
}

func (r *redisKV) kind() string { return "redis" }

func (r *redisKV) key(name, what string) string {
	return r.cfg.prefix + "{" + name + "}:" + what
}

func (r *redisKV) chunkKey(name string, gen uint64) string {
	return r.key(name, "chunks:"+strconv.FormatUint(gen, 10))
}

// nextGenScript gives out a generation number: the counter's next, but
// above every committed generation and clear of chunks being written, even
// if the counter was lost (evicted, deleted). KEYS: seq, gens. ARGV: the
// prefix of chunk keys.
var nextGenScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0)
if top[1] and tonumber(top[1]) >= n then n = tonumber(top[1]) + 1 end
while redis.call('EXISTS', ARGV[1] .. n) == 1 do n = n + 1 end
redis.call('SET', KEYS[1], n)
return n
`)

func (r *redisKV) nextGen(ctx context.Context, name string) (uint64, error) {
	n, err := nextGenScript.Run(ctx, r.c, []string{r.key(name, "seq"), r.key(name, "gens")}, r.key(name, "chunks:")).Int64()
	if err != nil {
		return 0, err
	}
	return uint64(n), nil
}

func (r *redisKV) put(ctx context.Context, name string, gen uint64, first int, chunks [][]byte) error {
	key := r.chunkKey(name, gen)
	fields := make([]any, 0, 2*len(chunks))
	for i, c := range chunks {
		fields = append(fields, strconv.Itoa(first+i), c)
	}
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, fields...)
		p.PExpire(ctx, key, r.cfg.pendingTTL)
		return nil
	})
	return err
}

// commitScript switches to a generation. KEYS: gens, manifests, the
// generation's chunks. ARGV: generation, manifest, number of chunks, keep,
// the prefix of chunk keys.
var commitScript = redis.NewScript(`
local have, want = redis.call('HLEN', KEYS[3]), tonumber(ARGV[3])
if have ~= want then
  return redis.error_reply('MAPXINCOMPLETE generation ' .. ARGV[1] .. ' has ' .. have .. ' of its ' .. want .. ' chunks: they expired before the switch')
end
if want > 0 then redis.call('PERSIST', KEYS[3]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if excess > 0 then
  for _, g in ipairs(redis.call('ZRANGE', KEYS[1], 0, excess - 1)) do
    redis.call('UNLINK', ARGV[5] .. g)
    redis.call('HDEL', KEYS[2], g)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
end
return excess
`)

func (r *redisKV) commit(ctx context.Context, name string, gen uint64, manifest []byte, chunks, keep int) error {
	keys := []string{r.key(name, "gens"), r.key(name, "manifests"), r.chunkKey(name, gen)}
	return commitScript.Run(ctx, r.c, keys, gen, manifest, chunks, keep, r.key(name, "chunks:")).Err()
}

// abortScript unlinks the chunks of a generation unless it was committed
// (the reply to a commit may be lost after the commit). KEYS: gens, the
// generation's chunks. ARGV: generation.
var abortScript = redis.NewScript(`
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
return redis.call('UNLINK', KEYS[2])
`)

func (r *redisKV) abort(name string, gen uint64) {
	// The save's context may be done; the chunks expire anyway.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = abortScript.Run(ctx, r.c, []string{r.key(name, "gens"), r.chunkKey(name, gen)}, gen).Err()
}

func (r *redisKV) manifests(ctx context.Context, name string) ([]storedManifest, error) {
	var gens *redis.StringSliceCmd
	var all *redis.MapStringStringCmd
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		gens = p.ZRevRange(ctx, r.key(name, "gens"), 0, -1)
		all = p.HGetAll(ctx, r.key(name, "manifests"))
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]storedManifest, 0, len(gens.Val()))
	for _, g := range gens.Val() {
		n, err := strconv.ParseUint(g, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("generation %q in %s: %w", g, r.key(name, "gens"), err)
		}
		sm := storedManifest{gen: n}
		if m, ok := all.Val()[g]; ok {
			sm.data = []byte(m)
		}
		out = append(out, sm)
	}
	return out, nil
}

func (r *redisKV) committed(ctx context.Context, name string, gen uint64) (bool, error) {
	err := r.c.ZScore(ctx, r.key(name, "gens"), strconv.FormatUint(gen, 10)).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}

func (r *redisKV) reader(ctx context.Context, name string, gen uint64) ([]byte, fetchFunc, func(), error) {
	m, err := r.c.HGet(ctx, r.key(name, "manifests"), strconv.FormatUint(gen, 10)).Bytes()
	if errors.Is(err, redis.Nil) {
		m, err = nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	key := r.chunkKey(name, gen)
	fetch := func(ctx context.Context, first, n int) ([][]byte, error) {
		fields := make([]string, n)
		for i := range fields {
			fields[i] = strconv.Itoa(first + i)
		}
		vals, err := r.c.HMGet(ctx, key, fields...).Result()
		if err != nil {
			return nil, err
		}
		out := make([][]byte, n)
		for i, v := range vals {
			if s, ok := v.(string); ok {
				out[i] = []byte(s)
			}
		}
		return out, nil
	}
	return m, fetch, func() {}, nil
}
