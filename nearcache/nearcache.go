// Package nearcache keeps Redis values in this process's memory and drops
// each one as soon as Redis says it changed, so a hit costs no network
// round trip and a write made through any instance is seen by every
// instance's next read.
//
// # How it knows
//
// The cache has one Redis connection of its own, in RESP3 with CLIENT
// TRACKING on in broadcasting mode (BCAST) for the key prefixes it holds.
// Redis then pushes an "invalidate" message naming every key under those
// prefixes that any client sets, deletes or lets expire, and a null one when
// the database is flushed. An invalidation removes the key's value here.
//
// # Why a read sees every earlier write (the fence)
//
// Redis queues a key's invalidation while it executes the write and sends
// it in the same pass of its event loop as the writer's reply (BCAST
// invalidations go out just before pending replies), before it reads
// another command. So by the time a writer has its reply, the invalidation
// has left Redis for every tracking connection; a user's write in this
// service is moreover followed by more Redis calls (reading the prompt
// counts, unlocking the user) before its client is answered. A read
// here first drains whatever the tracking connection has received, with one
// non-blocking read system call (no round trip), and applies it before it
// looks at memory. A write acknowledged to a client before that client's
// next request reaches this instance is therefore seen by that request,
// unless the network held the invalidation back for longer than the
// client's own round trip: a partition, which the liveness rule bounds.
// A flush (FLUSHALL, FLUSHDB: an operator's act, never this service's) is
// the exception: Redis pushes its invalidation after the flush's reply, so
// values held here are dropped a moment after the flush, not before its
// reply reaches whoever flushed.
//
// A value read from Redis is kept only if no invalidation of its key
// arrived while it was being read, so a value that was already outdated
// when it came back is never kept; writes of other keys (every cache fill
// is one) do not keep it out. Values held before the tracking connection
// last (re)connected are never used, since invalidations may have been
// lost meanwhile.
//
// # When it stands aside
//
// Memory answers only while the tracking connection is up and has answered
// a heartbeat PING sent within Liveness; otherwise every read goes to
// Redis, as without this package, so a partition between this instance and
// Redis costs at most Liveness of staleness. A value is also re-read after
// MaxAge whatever happens, which bounds the damage of any invalidation this
// reasoning missed.
//
// It needs a standalone Redis 6 or later over plain TCP or a Unix socket
// (RESP3 and CLIENT TRACKING; TLS would hide the connection's bytes from
// the fence); Open reports anything else, and callers then read Redis
// directly.
package nearcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Config says what the cache holds and how it watches Redis. Zero fields
// take the defaults below.
type Config struct {
	// Prefixes are the key prefixes held; a key under none of them is
	// always read from Redis (Get passes it to load).
	Prefixes []string
	// MaxEntries bounds how many values are held (least recently used go
	// first). Default 10000.
	MaxEntries int
	// Heartbeat is how often the tracking connection is pinged (default
	// 250ms); Liveness how recent a ping's answer must be for memory to
	// answer (default 1s); MaxAge how long a value is used at most before
	// it is read again (default 10s).
	Heartbeat, Liveness, MaxAge time.Duration
	// DialTimeout bounds connecting and the handshake (default 1s).
	DialTimeout time.Duration
	Logger      *slog.Logger
	Metrics     prometheus.Registerer
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Heartbeat, 250*time.Millisecond)
	def(&c.Liveness, time.Second)
	def(&c.MaxAge, 10*time.Second)
	def(&c.DialTimeout, time.Second)
	if c.MaxEntries <= 0 {
		c.MaxEntries = 10000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Value is one key's value as Redis returned it.
type Value struct {
	Bytes []byte // shared with other readers: never modify it
	Found bool   // false: Redis holds no such key
}

// Cache is a near cache of some of a Redis's keys. It is safe for
// concurrent use. A nil *Cache holds nothing: every read goes to load.
type Cache struct {
	cfg     Config
	held    *lru.Cache[string, held]
	t       *tracker
	results *prometheus.CounterVec
	// The results' counters, resolved once: a read costs no label lookup.
	hits, misses, bypasses prometheus.Counter
}

type held struct {
	v     Value
	epoch uint64
	at    time.Time
}

// ErrUnsupported is wrapped by Open's error when this Redis or client
// cannot be tracked.
var ErrUnsupported = errors.New("nearcache: unsupported")

// Open connects the tracking connection to the Redis rdb talks to (ctx
// bounds that first connection) and watches it until Close. Its error says
// why this Redis cannot be held near (not a standalone client, Sentinel,
// TLS, a server without CLIENT TRACKING, or no answer); callers then read
// Redis directly.
func Open(ctx context.Context, rdb redis.UniversalClient, cfg Config) (*Cache, error) {
	cfg = cfg.withDefaults()
	client, ok := rdb.(*redis.Client)
	if !ok {
		return nil, fmt.Errorf("%w: a standalone Redis client is needed, not %T", ErrUnsupported, rdb)
	}
	opt := client.Options()
	switch {
	case opt.Addr == "FailoverClient": // go-redis's Sentinel client: the master moves
		return nil, fmt.Errorf("%w: a Redis found through Sentinel", ErrUnsupported)
	case opt.TLSConfig != nil:
		return nil, fmt.Errorf("%w: Redis over TLS", ErrUnsupported)
	case opt.CredentialsProvider != nil || opt.CredentialsProviderContext != nil || opt.StreamingCredentialsProvider != nil:
		return nil, fmt.Errorf("%w: Redis credentials from a provider", ErrUnsupported)
	case len(cfg.Prefixes) == 0:
		return nil, fmt.Errorf("%w: no key prefixes to hold", ErrUnsupported)
	}
	l, err := lru.New[string, held](cfg.MaxEntries)
	if err != nil {
		return nil, err
	}
	c := &Cache{cfg: cfg, held: l}
	c.t, err = startTracker(ctx, trackerConfig{
		network: opt.Network, addr: opt.Addr, username: opt.Username, password: opt.Password,
		prefixes: cfg.Prefixes, heartbeat: cfg.Heartbeat, liveness: cfg.Liveness,
		dialTimeout: cfg.DialTimeout, log: cfg.Logger,
		onInvalidate: func(key string) { c.held.Remove(key) },
		onFlush:      func() { c.held.Purge() },
	})
	if err != nil {
		return nil, err
	}
	c.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bff_nearcache_reads_total",
		Help: "Reads of Redis keys held in process memory, by result: hit (answered from memory), miss (read from Redis), bypass (the tracking connection was not live, so read from Redis).",
	}, []string{"result"})
	c.hits, c.misses, c.bypasses = c.results.WithLabelValues("hit"), c.results.WithLabelValues("miss"), c.results.WithLabelValues("bypass")
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(c.results, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bff_nearcache_live",
			Help: "1 while the near cache's tracking connection is up and answering, so memory may answer reads.",
		}, func() float64 {
			if c.t.live(time.Now()) {
				return 1
			}
			return 0
		}))
	}
	return c, nil
}

// Close stops watching Redis; every later read goes to load.
func (c *Cache) Close() {
	if c != nil {
		c.t.close()
	}
}

// Get returns key's value from memory when it is held and may answer (see
// the package documentation), and otherwise from load, keeping what load
// returns when it is safe to. load reads Redis (a GET) and reports whether
// the key exists.
func (c *Cache) Get(ctx context.Context, key string, load func(context.Context) (Value, error)) (Value, error) {
	if c == nil || !c.holds(key) {
		return load(ctx)
	}
	now := time.Now()
	epoch, seen, live := c.t.sync(now)
	if v, ok := c.answer(key, epoch, live, now); ok {
		return v, nil
	}
	if !live {
		return load(ctx)
	}
	keys := []string{key}
	c.t.begin(keys)
	var v Value
	var err error = errPanicked
	defer func() { // deferred: a load that panics must not stay registered
		c.t.finish(epoch, seen, keys, err == nil, func(int) { c.held.Add(key, held{v: v, epoch: epoch, at: now}) })
	}()
	v, err = load(ctx)
	return v, err
}

// errPanicked stands for the outcome of a load that never returned.
var errPanicked = errors.New("nearcache: load panicked")

// Many is Get for several keys: those held are answered from memory, the
// others with one call of load, which returns their values in the order
// of the keys it was given (an MGET).
func (c *Cache) Many(ctx context.Context, keys []string, load func(context.Context, []string) ([]Value, error)) ([]Value, error) {
	if c == nil {
		return load(ctx, keys)
	}
	now := time.Now()
	epoch, seen, live := c.t.sync(now)
	out := make([]Value, len(keys))
	var missing []string
	var at []int
	for i, k := range keys {
		v, ok := Value{}, false
		if c.holds(k) {
			v, ok = c.answer(k, epoch, live, now)
		}
		if ok {
			out[i] = v
			continue
		}
		missing, at = append(missing, k), append(at, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	// The missing keys this cache may keep, and where each is in missing.
	var keep []string
	var from []int
	if live {
		for j, k := range missing {
			if c.holds(k) {
				keep, from = append(keep, k), append(from, j)
			}
		}
		c.t.begin(keep)
	}
	var got []Value
	var err error = errPanicked
	defer func() {
		if live {
			c.t.finish(epoch, seen, keep, err == nil, func(i int) {
				c.held.Add(keep[i], held{v: got[from[i]], epoch: epoch, at: now})
			})
		}
	}()
	got, err = load(ctx, missing)
	if err == nil && len(got) != len(missing) {
		err = fmt.Errorf("nearcache: load returned %d values for %d keys", len(got), len(missing))
	}
	if err != nil {
		return nil, err
	}
	for j, v := range got {
		out[at[j]] = v
	}
	return out, nil
}

// answer returns key's held value when memory may answer for it.
func (c *Cache) answer(key string, epoch uint64, live bool, now time.Time) (Value, bool) {
	if !live {
		c.bypasses.Inc()
		return Value{}, false
	}
	if h, ok := c.held.Get(key); ok && h.epoch == epoch && now.Sub(h.at) < c.cfg.MaxAge {
		c.hits.Inc()
		return h.v, true
	}
	c.misses.Inc()
	return Value{}, false
}

// Forget drops key's value. Call it after this process writes the key:
// the write's own invalidation is on its way, but this is at once, and it
// keeps a read that was in flight during the write from keeping its older
// value.
func (c *Cache) Forget(key string) {
	if c != nil {
		c.t.forget(key, func() { c.held.Remove(key) })
	}
}

func (c *Cache) holds(key string) bool {
	for _, p := range c.cfg.Prefixes {
		if len(key) >= len(p) && key[:len(p)] == p {
			return true
		}
	}
	return false
}
