// Package cache keeps users in Redis in front of a slower, rate-limited
// profiling.UserStore (Auth0's Management API), and is itself a
// profiling.UserStore, so callers cannot tell it from the store it wraps.
//
// Reads are read-through: a hit costs no upstream call; on a miss, one
// upstream call serves every concurrent reader of the same user
// (singleflight), on a context detached from any single caller so one
// caller giving up does not fail the others. Writes are write-through: the
// user the upstream store returns after a change is stored at once, so the
// next read sees the answer without asking upstream.
//
// A caller that asks for a copy read after a given time
// (profiling.WithFreshAfter: its access token's issue time) is not served an
// older entry: the user may have logged in since, moving them to the next
// stage. Each entry records when it was fetched, so that costs one upstream
// read per new token, not one per request.
//
// Entries are compact JSON of profiling.User, with the time it was fetched,
// under KeyPrefix+id. The prefix
// carries a format version ("pp:v1:user:"): bump it whenever the JSON shape
// changes, so instances running different versions never read each other's
// entries. An entry that does not decode into the expected user is treated as
// a miss and overwritten. Entries expire after TTL less a random Jitter so
// that users cached together do not all expire together; TTL is therefore
// the upper bound on how stale a cached user can be when a change bypasses
// this cache.
//
// Redis is an optimisation, never a dependency of correctness: a failed
// Redis read falls through to upstream and a failed Redis write is logged,
// and each Redis operation is bounded by RedisTimeout. A stopped Redis
// (refused connections) costs microseconds; a blackholed one costs a miss
// up to two RedisTimeouts (the read, then the write).
//
// Known limits, left for the hardening work: there is no circuit breaker to
// skip a blackholed Redis (lookup, store and Invalidate are the only places
// that talk to Redis, so one can wrap them);
// upstream failures are not answered from stale entries; missing users are
// not cached; and a fill that read upstream before a concurrent UpdateUser
// can overwrite that update's fresher entry until the TTL ends (store is
// the one place a compare-on-updated_at write would go).
//
// Connect builds the go-redis client from a REDIS_URL; see its
// documentation for the accepted URL forms.
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/progressive-profiling/bff/profiling"
)

// Defaults for the zero values of Config.
const (
	DefaultTTL          = 10 * time.Minute
	DefaultJitter       = 0.1
	DefaultKeyPrefix    = "pp:v1:user:"
	DefaultFillTimeout  = 5 * time.Second
	DefaultRedisTimeout = 300 * time.Millisecond
)

// Config tunes a Cache. The zero value of every field selects its default.
type Config struct {
	// TTL is the longest an entry lives. Default DefaultTTL.
	TTL time.Duration
	// Jitter is the fraction of TTL randomly taken off each entry's
	// lifetime, in [0, 1). Default DefaultJitter.
	Jitter float64
	// KeyPrefix is prepended to the user id to form the Redis key. Its
	// version part must change whenever the stored JSON shape changes.
	// Default DefaultKeyPrefix.
	KeyPrefix string
	// FillTimeout is the deadline of the upstream read that fills a miss.
	// That read runs detached from the callers waiting for it, so it needs
	// its own bound. Default DefaultFillTimeout.
	FillTimeout time.Duration
	// RedisTimeout bounds each Redis operation, whatever deadline the
	// caller has, so a slow Redis cannot hold a request for long; a miss
	// makes at most two (read, then write). Default DefaultRedisTimeout.
	RedisTimeout time.Duration
	// Logger receives Redis failures and undecodable entries, which the
	// cache absorbs instead of failing requests. Default slog.Default().
	Logger *slog.Logger
}

// Cache is a read-through, write-through Redis cache of users in front of a
// profiling.UserStore. It is safe for concurrent use.
type Cache struct {
	rdb    redis.UniversalClient
	next   profiling.UserStore
	cfg    Config
	log    *slog.Logger
	flight singleflight.Group
}

var _ profiling.UserStore = (*Cache)(nil)

// New returns a cache of next's users in rdb. It panics if rdb or next is
// nil or cfg holds an impossible value (negative durations, Jitter outside
// [0, 1), TTL under a millisecond), since those are programming errors.
func New(rdb redis.UniversalClient, next profiling.UserStore, cfg Config) *Cache {
	if rdb == nil {
		panic("cache.New: nil redis client")
	}
	if next == nil {
		panic("cache.New: nil upstream user store")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		panic("cache.New: " + err.Error())
	}
	return &Cache{rdb: rdb, next: next, cfg: cfg, log: cfg.Logger}
}

func (cfg Config) withDefaults() Config {
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.FillTimeout == 0 {
		cfg.FillTimeout = DefaultFillTimeout
	}
	if cfg.RedisTimeout == 0 {
		cfg.RedisTimeout = DefaultRedisTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

func (cfg Config) validate() error {
	switch {
	case cfg.TTL < time.Millisecond:
		// Redis expiries have millisecond resolution.
		return fmt.Errorf("Config.TTL must be at least 1ms, got %v", cfg.TTL)
	case cfg.Jitter < 0 || cfg.Jitter >= 1:
		return fmt.Errorf("Config.Jitter must be in [0, 1), got %v", cfg.Jitter)
	case cfg.FillTimeout < 0:
		return fmt.Errorf("Config.FillTimeout must not be negative, got %v", cfg.FillTimeout)
	case cfg.RedisTimeout < 0:
		return fmt.Errorf("Config.RedisTimeout must not be negative, got %v", cfg.RedisTimeout)
	}
	return nil
}

// Key returns the Redis key that holds the user with this id.
func (c *Cache) Key(id string) string {
	return c.cfg.KeyPrefix + id
}

// User returns the user from Redis, or on a miss from the upstream store,
// storing it for the next reader. Every call returns its own copy.
func (c *Cache) User(ctx context.Context, id string) (*profiling.User, error) {
	if id == "" {
		return nil, fmt.Errorf("cache: empty user id: %w", profiling.ErrUserNotFound)
	}
	u, _, redisErr := c.lookup(ctx, id)
	if u != nil {
		return u, nil
	}

	// The closure captures this caller's ctx only for its values (trace
	// ids, loggers); fill detaches it from this caller's cancellation. A
	// Redis that just failed is not asked again before going upstream.
	recheck := redisErr == nil
	ch := c.flight.DoChan(id, func() (any, error) { return c.fill(ctx, id, recheck) })
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		// Every waiter decodes its own copy from the shared bytes, so no
		// two callers ever share a *User or its maps.
		u, _, err := decode(res.Val.([]byte), id)
		return u, err
	case <-ctx.Done():
		// The fill goes on for the other waiters and still fills the cache.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("cache: user %q: %w: request deadline passed while waiting for upstream: %w",
				id, profiling.ErrUpstreamUnavailable, ctx.Err())
		}
		return nil, fmt.Errorf("cache: user %q: %w", id, ctx.Err())
	}
}

// UpdateUser applies p upstream and stores the user the upstream store
// returns, so the next read costs no upstream call and sees the change.
//
// A failed update leaves the cached entry alone: most failures (429, 5xx,
// validation) mean nothing changed, and dropping the entry would turn one
// rate-limited write into more rate-limited reads. Only a vanished user
// is dropped.
func (c *Cache) UpdateUser(ctx context.Context, id string, p profiling.Patch) (*profiling.User, error) {
	if id == "" {
		return nil, fmt.Errorf("cache: empty user id: %w", profiling.ErrUserNotFound)
	}
	u, err := c.next.UpdateUser(ctx, id, p)
	if err != nil {
		if errors.Is(err, profiling.ErrUserNotFound) {
			c.drop(context.WithoutCancel(ctx), id)
		}
		return nil, fmt.Errorf("cache: update user %q: %w", id, err)
	}
	if u == nil {
		return nil, fmt.Errorf("cache: update user %q: upstream store returned no user", id)
	}
	if u.ID != id {
		// Never hand one user's record to a request about another.
		c.log.ErrorContext(ctx, "cache: upstream returned another user than the one updated",
			"user_id", id, "returned_id", u.ID)
		c.drop(context.WithoutCancel(ctx), id)
		return nil, fmt.Errorf("cache: update user %q: upstream store returned user %q", id, u.ID)
	}
	raw, err := encode(u, time.Now())
	if err != nil {
		// The change is applied upstream but cannot be cached; the old entry
		// is now wrong, so drop it and hand back upstream's own user.
		c.log.ErrorContext(ctx, "cache: cannot encode updated user; dropping its entry", "user_id", id, "error", err)
		c.drop(context.WithoutCancel(ctx), id)
		return u, nil
	}
	// Detached from the caller: a caller that gives up right after the
	// upstream write must not leave the old value cached.
	c.store(context.WithoutCancel(ctx), id, raw)
	// Decoding our own encoding gives the caller the very shape later reads
	// return, sharing nothing with the upstream store.
	u, _, err = decode(raw, id)
	return u, err
}

// Invalidate removes the user's entry, so the next read asks upstream. Use
// it when the user changed by a path that bypasses this cache.
func (c *Cache) Invalidate(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	if err := c.rdb.Del(ctx, c.Key(id)).Err(); err != nil {
		return fmt.Errorf("cache: invalidate user %q: %w", id, err)
	}
	return nil
}

// fill runs once per user for all concurrent misses: it reads the user
// upstream, stores it, and returns its JSON for each waiter to decode.
func (c *Cache) fill(callerCtx context.Context, id string, recheck bool) (raw []byte, err error) {
	// A panic here would otherwise crash the process: singleflight re-panics
	// on a fresh goroutine for DoChan callers.
	defer func() {
		if r := recover(); r != nil {
			c.log.ErrorContext(callerCtx, "cache: upstream read panicked", "user_id", id, "panic", r)
			raw, err = nil, fmt.Errorf("cache: user %q: upstream read failed unexpectedly", id)
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(callerCtx), c.cfg.FillTimeout)
	defer cancel()

	// A fill that finished between this caller's miss and its joining the
	// flight has already stored the user; look again before spending an
	// upstream call.
	if recheck {
		if u, raw, _ := c.lookup(ctx, id); u != nil {
			return raw, nil
		}
	}

	fetched := time.Now()
	u, err := c.next.User(ctx, id)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, profiling.ErrUpstreamUnavailable) {
			return nil, fmt.Errorf("cache: user %q: %w: no answer within %v: %w",
				id, profiling.ErrUpstreamUnavailable, c.cfg.FillTimeout, err)
		}
		return nil, fmt.Errorf("cache: user %q: %w", id, err)
	}
	if u == nil {
		return nil, fmt.Errorf("cache: user %q: upstream store returned no user", id)
	}
	if u.ID != id {
		// Never hand one user's record to a request about another.
		c.log.ErrorContext(ctx, "cache: upstream returned another user than the one asked for",
			"user_id", id, "returned_id", u.ID)
		return nil, fmt.Errorf("cache: user %q: upstream store returned user %q", id, u.ID)
	}
	raw, err = encode(u, fetched)
	if err != nil {
		return nil, fmt.Errorf("cache: user %q: encode: %w", id, err)
	}
	c.store(ctx, id, raw)
	return raw, nil
}

// lookup returns the cached user, decoded and as JSON, if Redis holds a
// decodable entry, and a nil user otherwise: Redis is never the reason a
// read fails. err reports a Redis failure (as opposed to a miss) so callers
// can avoid asking a failing Redis twice.
func (c *Cache) lookup(ctx context.Context, id string) (u *profiling.User, raw []byte, err error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	raw, err = c.rdb.Get(rctx, c.Key(id)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil, nil
	case err != nil:
		if ctx.Err() == nil { // the caller leaving is not a Redis fault
			c.log.WarnContext(ctx, "cache: redis read failed; asking upstream", "user_id", id, "error", err)
		}
		return nil, nil, err
	}
	u, fetched, err := decode(raw, id)
	if err != nil {
		c.log.WarnContext(ctx, "cache: undecodable entry; refilling it", "user_id", id, "error", err)
		return nil, nil, nil
	}
	if !profiling.IsFreshFor(u, fetched, profiling.FreshAfter(ctx)) {
		// Older than the caller's token: the user may have logged in since.
		return nil, nil, nil
	}
	return u, raw, nil
}

// store writes the user's JSON with a jittered TTL. Failures are logged,
// never returned: the caller already has its user.
func (c *Cache) store(ctx context.Context, id string, raw []byte) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	if err := c.rdb.Set(ctx, c.Key(id), raw, c.ttl()).Err(); err != nil {
		c.log.WarnContext(ctx, "cache: redis write failed", "user_id", id, "error", err)
	}
}

// drop deletes the user's entry, logging a failure.
func (c *Cache) drop(ctx context.Context, id string) {
	if err := c.Invalidate(ctx, id); err != nil {
		c.log.WarnContext(ctx, "cache: redis delete failed", "user_id", id, "error", err)
	}
}

// ttl returns a lifetime in (TTL*(1-Jitter), TTL], so entries filled
// together expire apart and no entry outlives TTL.
func (c *Cache) ttl() time.Duration {
	cut := time.Duration(rand.Float64() * c.cfg.Jitter * float64(c.cfg.TTL))
	return max(c.cfg.TTL-cut, time.Millisecond)
}

// entry is what Redis holds for one user.
type entry struct {
	// FetchedAt is when the copy was read from, or written to, upstream
	// (Unix milliseconds); it decides whether the copy is fresh enough for
	// a caller's token (profiling.IsFreshFor).
	FetchedAt int64           `json:"fetched_ms"`
	User      *profiling.User `json:"user"`
}

func encode(u *profiling.User, fetched time.Time) ([]byte, error) {
	return json.Marshal(entry{FetchedAt: fetched.UnixMilli(), User: u})
}

// decode turns an entry into a fresh user, rejecting entries that are not
// JSON, do not fit the entry shape, or hold another user (which also catches
// "{}" and "null").
func decode(raw []byte, id string) (*profiling.User, time.Time, error) {
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, time.Time{}, fmt.Errorf("cache: decode user %q: %w", id, err)
	}
	if e.User == nil || e.User.ID != id {
		return nil, time.Time{}, fmt.Errorf("cache: entry for user %q does not hold that user", id)
	}
	return e.User, time.UnixMilli(e.FetchedAt), nil
}
