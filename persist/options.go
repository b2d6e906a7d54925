package persist

import (
	"fmt"
	"strings"
	"time"
)

// Defaults of the store options.
const (
	DefaultKeep       = 3                // generations kept of each name
	DefaultChunkSize  = 1 << 20          // bytes in a chunk of a RedisStore or BadgerStore
	DefaultKeyPrefix  = "mapx:"          // of the keys of a RedisStore or BadgerStore
	DefaultPendingTTL = 10 * time.Minute // see WithPendingTTL
	maxChunkSize      = 64 << 20
)

type storeConfig struct {
	keep       int
	chunkSize  int
	prefix     string
	pendingTTL time.Duration
}

// configure applies the options of a constructor to the defaults.
func configure[O any](ctor string, opts []O, apply func(O, *storeConfig)) storeConfig {
	cfg := storeConfig{keep: DefaultKeep, chunkSize: DefaultChunkSize, prefix: DefaultKeyPrefix, pendingTTL: DefaultPendingTTL}
	for _, o := range opts {
		if any(o) == nil {
			panic(fmt.Sprintf("persist: %s: nil option", ctor))
		}
		apply(o, &cfg)
	}
	return cfg
}

// A FileOption configures [NewFileStore].
type FileOption interface{ applyFile(*storeConfig) }

// A RedisOption configures [NewRedisStore].
type RedisOption interface{ applyRedis(*storeConfig) }

// A BadgerOption configures [NewBadgerStore].
type BadgerOption interface{ applyBadger(*storeConfig) }

// A StoreOption configures any store of this package.
type StoreOption func(*storeConfig)

func (o StoreOption) applyFile(c *storeConfig)   { o(c) }
func (o StoreOption) applyRedis(c *storeConfig)  { o(c) }
func (o StoreOption) applyBadger(c *storeConfig) { o(c) }

// A ChunkedOption configures a [RedisStore] or a [BadgerStore].
type ChunkedOption func(*storeConfig)

func (o ChunkedOption) applyRedis(c *storeConfig)  { o(c) }
func (o ChunkedOption) applyBadger(c *storeConfig) { o(c) }

type redisOption func(*storeConfig)

func (o redisOption) applyRedis(c *storeConfig) { o(c) }

// WithKeep sets how many generations of each name a store keeps: a save
// removes the oldest beyond n once the new one is in place. n must be at
// least 1; keep 2 or more so that a damaged newest generation has an older
// one to fall back to. The default is [DefaultKeep].
func WithKeep(n int) StoreOption {
	if n < 1 {
		panic(fmt.Sprintf("persist: WithKeep(%d): keep at least 1 generation", n))
	}
	return func(c *storeConfig) { c.keep = n }
}

// WithChunkSize sets the size of the chunks a snapshot is cut into, in bytes:
// from 1 to 64 MiB. The default is [DefaultChunkSize]. A save holds a few
// chunks in memory, and so does a load.
func WithChunkSize(n int) ChunkedOption {
	if n < 1 || n > maxChunkSize {
		panic(fmt.Sprintf("persist: WithChunkSize(%d): want 1 to %d bytes", n, maxChunkSize))
	}
	return func(c *storeConfig) { c.chunkSize = n }
}

// WithKeyPrefix sets the prefix of every key the store uses; the default is
// [DefaultKeyPrefix]. It must not contain '{' or '}': the keys of a name
// share the Redis hash tag {name}.
func WithKeyPrefix(p string) ChunkedOption {
	if strings.ContainsAny(p, "{}") {
		panic(fmt.Sprintf("persist: WithKeyPrefix(%q): the prefix must not contain '{' or '}'", p))
	}
	return func(c *storeConfig) { c.prefix = p }
}

// WithPendingTTL sets how long the chunks of a save being written live in
// Redis without progress: each round trip of the save renews it, and the
// switch makes them permanent. The chunks of a save that was interrupted
// (its process crashed) expire after it. It must be at least a second; the
// default is [DefaultPendingTTL].
func WithPendingTTL(d time.Duration) RedisOption {
	if d < time.Second {
		panic(fmt.Sprintf("persist: WithPendingTTL(%v): want at least 1s", d))
	}
	return redisOption(func(c *storeConfig) { c.pendingTTL = d })
}
