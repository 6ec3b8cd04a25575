// Package cache keeps users in Redis in front of a slower, rate-limited
// profiling.UserStore (Auth0's Management API), and is itself a
// profiling.UserStore, so callers cannot tell it from the store it wraps.
// It is also a profiling.UserLocker: writers of one user are serialised
// across instances by a Redis lock (see LockUser).
//
// Reads are read-through: a hit costs no upstream call; on a miss, one
// upstream call serves every concurrent reader of the same user
// (singleflight), on a context detached from any single caller so one
// caller giving up does not fail the others. A reader waits for upstream at
// most UpstreamWait; the fill goes on without it (up to FillTimeout) and
// fills the cache for the next reader. Writes are write-through: the user
// the upstream store returns after a change is stored at once, so the next
// read sees the answer without asking upstream.
//
// A caller that asks for a copy read after a given time
// (profiling.WithFreshAfter: its access token's issue time) is not served an
// older entry: the user may have logged in since, moving them to the next
// stage. Each entry records when it was fetched, so that costs one upstream
// read per new token, not one per request.
//
// # Entries
//
// Entries are compact JSON under KeyPrefix+id, beginning with the user's
// updated_at in Unix milliseconds ({"updated_ms":N,...}), then the fetch
// time, the end of the fresh period and the user (profiling.User's JSON).
// The prefix carries a format version ("pp:v3:user:"): bump it whenever the
// JSON shape changes, so instances running different versions never read
// each other's entries. An entry that does not decode is a miss and is
// overwritten.
//
// An entry is fresh for TTL less a random Jitter (so users cached together
// do not all expire together), and stays in Redis MaxStale longer: TTL
// bounds how stale an answer can be when a change bypasses this cache and
// upstream is up; TTL+MaxStale bounds it while upstream is down.
//
// # No stale set
//
// Every write of a user's entry goes through one Lua script that refuses to
// replace an entry holding a newer updated_at, atomically in Redis. So a
// fill that read upstream before a concurrent UpdateUser can never replace
// that update's fresher entry, whichever finishes last.
//
// # Upstream down
//
// When upstream fails with profiling.ErrUpstreamUnavailable (5xx, 429, a
// timeout, an answer that does not decode) or does not answer within
// UpstreamWait, a reader that holds an entry no older than TTL+MaxStale is
// answered from it, and the answer is flagged: the copy's age is recorded
// with profiling.NoteStale, which the GraphQL layer turns into a response
// extension, and bff_cache_stale_served_total counts it. This applies as
// well to a copy that is merely older than the caller's token: with
// upstream down, the last known profile (possibly a login behind) beats an
// error. A caller whose context carries no profiling.StaleNote is never
// served stale. A reader with no usable entry gets ErrUpstreamUnavailable
// within UpstreamWait, whatever retries the upstream store is still making.
//
// A user upstream reports missing is remembered for NegativeTTL (an entry
// with "missing":true), so a stream of requests for a deleted user costs
// one upstream call per NegativeTTL; a successful write replaces it.
//
// # Redis down
//
// Redis is an optimisation, never a dependency of reads: a failed Redis
// read falls through to upstream and a failed Redis write is logged. Each
// Redis operation is bounded by RedisTimeout, and a circuit breaker skips
// Redis after BreakerThreshold consecutive failures, so a dead or
// blackholed Redis costs a request microseconds, not a timeout; a
// background PING every BreakerCoolDown closes it again when Redis answers
// (state in the bff_cache_redis_breaker_state gauge: 0 closed, 1 probing,
// 2 open). Users this instance changed while it could not update their
// entries are remembered, read from upstream meanwhile, and their entries
// deleted before Redis is used again, so no instance is served a copy
// from before such a change.
//
// Connect builds the go-redis client from a REDIS_URL; see its
// documentation for the accepted URL forms.
package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/progressive-profiling/bff/profiling"
)

// Defaults for the zero values of Config.
const (
	DefaultTTL              = 10 * time.Minute
	DefaultJitter           = 0.1
	DefaultKeyPrefix        = "pp:v3:user:"
	DefaultFillTimeout      = 5 * time.Second
	DefaultRedisTimeout     = 300 * time.Millisecond
	DefaultMaxStale         = time.Hour
	DefaultNegativeTTL      = 30 * time.Second
	DefaultUpstreamWait     = 2 * time.Second
	DefaultBreakerThreshold = 3
	DefaultBreakerCoolDown  = time.Second
	DefaultLockPrefix       = "pp:lock:user:"
	DefaultLockTTL          = 15 * time.Second
	DefaultLockWait         = 5 * time.Second
	DefaultLocalCopies      = 10000
)

// Config tunes a Cache. The zero value of every field selects its default.
type Config struct {
	// TTL is how long an entry is fresh: served without asking upstream.
	// Default DefaultTTL.
	TTL time.Duration
	// Jitter is the fraction of TTL randomly taken off each entry's fresh
	// period, in [0, 1). Default DefaultJitter.
	Jitter float64
	// MaxStale is how long past its fresh period an entry is kept to answer
	// readers while upstream is unavailable (flagged as stale). Default
	// DefaultMaxStale; negative never serves stale entries.
	MaxStale time.Duration
	// NegativeTTL is how long a user upstream reported missing is answered
	// as missing without asking again. Default DefaultNegativeTTL; negative
	// does not remember missing users.
	NegativeTTL time.Duration
	// KeyPrefix is prepended to the user id to form the Redis key. Its
	// version part must change whenever the stored JSON shape changes.
	// Default DefaultKeyPrefix.
	KeyPrefix string
	// FillTimeout is the deadline of the upstream read that fills a miss.
	// That read runs detached from the callers waiting for it, so it needs
	// its own bound. Default DefaultFillTimeout.
	FillTimeout time.Duration
	// UpstreamWait is the longest a reader waits for upstream before it is
	// answered from a stale entry or, without one, fails with
	// profiling.ErrUpstreamUnavailable. Default DefaultUpstreamWait.
	UpstreamWait time.Duration
	// RedisTimeout bounds each Redis operation, whatever deadline the
	// caller has, so a slow Redis cannot hold a request for long; a miss
	// makes at most two (read, then write). Default DefaultRedisTimeout.
	RedisTimeout time.Duration
	// BreakerThreshold is how many consecutive Redis failures open the
	// circuit breaker. Default DefaultBreakerThreshold.
	BreakerThreshold int
	// BreakerCoolDown is how long the open breaker waits between background
	// probes of Redis. Default DefaultBreakerCoolDown.
	BreakerCoolDown time.Duration
	// LockPrefix is prepended to the user id to form the write lock's key.
	// It carries no format version: instances of every version write the
	// same users, so they must share locks. Default DefaultLockPrefix.
	LockPrefix string
	// LockTTL is when a write lock expires if its holder never releases it
	// (crash, lost connection). It must exceed the longest write: a read of
	// up to UpstreamWait plus the upstream update's own timeout. Default
	// DefaultLockTTL.
	LockTTL time.Duration
	// LockWait is the longest LockUser waits for another writer of the same
	// user. Default DefaultLockWait.
	LockWait time.Duration
	// LocalCopies is how many users' entries this instance keeps in process
	// memory to answer while Redis cannot (see localCopies). Default
	// DefaultLocalCopies; negative keeps none.
	LocalCopies int
	// Logger receives Redis failures and undecodable entries, which the
	// cache absorbs instead of failing requests. Default slog.Default().
	Logger *slog.Logger
	// Metrics receives the cache's gauge and counters; nil registers
	// nothing.
	Metrics prometheus.Registerer
}

// Cache is a read-through, write-through Redis cache of users in front of a
// profiling.UserStore. It is safe for concurrent use.
type Cache struct {
	rdb     redis.UniversalClient
	next    profiling.UserStore
	cfg     Config
	log     *slog.Logger
	flight  singleflight.Group
	breaker *breaker
	metrics metrics
	local   localCopies

	// unsynced holds users this instance changed upstream without updating
	// (or deleting) their entries: Redis may hold a copy from before the
	// change, so reads skip it and it is deleted before the breaker closes.
	unsyncedMu sync.Mutex
	unsynced   map[string]struct{}
}

// maxUnsynced bounds the unsynced set; past it, entries may stay stale for
// up to TTL after a Redis outage, which is logged.
const maxUnsynced = 10000

var (
	_ profiling.UserStore = (*Cache)(nil)
	_ profiling.Locker    = (*Cache)(nil)
)

type metrics struct {
	breakerState prometheus.Gauge
	staleServed  prometheus.Counter
	locks        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		breakerState: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bff_cache_redis_breaker_state",
			Help: "State of the Redis circuit breaker: 0 closed (Redis used), 1 probing, 2 open (Redis skipped).",
		}),
		staleServed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bff_cache_stale_served_total",
			Help: "Reads answered from a stale cached user because upstream was unavailable.",
		}),
		locks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_cache_user_lock_total",
			Help: "User write lock requests by outcome: acquired, timeout (another writer held it), redis_unavailable (written without the lock).",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.breakerState, m.staleServed, m.locks)
	}
	return m
}

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
	c := &Cache{rdb: rdb, next: next, cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Metrics), unsynced: map[string]struct{}{},
		local: newLocalCopies(cfg.LocalCopies)}
	c.breaker = newBreaker(cfg.BreakerThreshold, cfg.BreakerCoolDown, c.probeRedis, c.log, c.metrics.breakerState)
	return c
}

func (cfg Config) withDefaults() Config {
	setDuration := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setDuration(&cfg.TTL, DefaultTTL)
	setDuration(&cfg.MaxStale, DefaultMaxStale)
	setDuration(&cfg.NegativeTTL, DefaultNegativeTTL)
	setDuration(&cfg.FillTimeout, DefaultFillTimeout)
	setDuration(&cfg.UpstreamWait, DefaultUpstreamWait)
	setDuration(&cfg.RedisTimeout, DefaultRedisTimeout)
	setDuration(&cfg.BreakerCoolDown, DefaultBreakerCoolDown)
	setDuration(&cfg.LockTTL, DefaultLockTTL)
	setDuration(&cfg.LockWait, DefaultLockWait)
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.LockPrefix == "" {
		cfg.LockPrefix = DefaultLockPrefix
	}
	if cfg.BreakerThreshold == 0 {
		cfg.BreakerThreshold = DefaultBreakerThreshold
	}
	if cfg.LocalCopies == 0 {
		cfg.LocalCopies = DefaultLocalCopies
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
	case cfg.UpstreamWait < 0:
		return fmt.Errorf("Config.UpstreamWait must not be negative, got %v", cfg.UpstreamWait)
	case cfg.RedisTimeout < 0:
		return fmt.Errorf("Config.RedisTimeout must not be negative, got %v", cfg.RedisTimeout)
	case cfg.BreakerThreshold < 0:
		return fmt.Errorf("Config.BreakerThreshold must not be negative, got %d", cfg.BreakerThreshold)
	case cfg.BreakerCoolDown < 0:
		return fmt.Errorf("Config.BreakerCoolDown must not be negative, got %v", cfg.BreakerCoolDown)
	case cfg.LockTTL < time.Millisecond:
		return fmt.Errorf("Config.LockTTL must be at least 1ms, got %v", cfg.LockTTL)
	case cfg.LockWait < 0:
		return fmt.Errorf("Config.LockWait must not be negative, got %v", cfg.LockWait)
	}
	return nil
}

// Key returns the Redis key that holds the user with this id.
func (c *Cache) Key(id string) string {
	return c.cfg.KeyPrefix + id
}

// User returns the user from Redis, or on a miss from the upstream store,
// storing it for the next reader. Every call returns its own copy. See the
// package documentation for what a reader gets while upstream is down.
func (c *Cache) User(ctx context.Context, id string, r profiling.Read) (*profiling.User, profiling.ReadInfo, error) {
	if id == "" {
		return nil, profiling.ReadInfo{}, fmt.Errorf("cache: empty user id: %w", profiling.ErrUserNotFound)
	}
	e, redisErr := c.lookup(ctx, id)
	if redisErr != nil && callerGone(ctx) {
		// The caller left (or ran out of time) while Redis answered: an
		// upstream read now would be spent on nobody.
		return nil, profiling.ReadInfo{}, fmt.Errorf("cache: user %q: %w", id, callerErr(ctx))
	}
	if redisErr != nil && !r.Exclusive {
		// Redis is unavailable (or too slow for us right now): this
		// instance's own recent copy stands in for it, so an outage, or our
		// own CPU starvation, does not turn into upstream reads.
		e = c.local.get(id)
	}
	var stale *cached
	if e != nil {
		now := time.Now()
		switch {
		case e.answers(now, r):
			if e.missing() {
				return nil, profiling.ReadInfo{}, fmt.Errorf("cache: user %q: %w (remembered)", id, profiling.ErrUserNotFound)
			}
			return e.user, profiling.ReadInfo{}, nil
		case r.AllowStale && c.servableStale(e, now):
			stale = e
		}
	}
	if r.Exclusive {
		return c.readExclusive(ctx, id)
	}

	wait := time.NewTimer(c.cfg.UpstreamWait)
	defer wait.Stop()
	// A reader may join a fill another reader started before this call,
	// which may be older than r requires; then it waits for a second fill,
	// which starts after this call did. Two rounds always suffice.
	recheck := redisErr == nil // a Redis that just failed is not asked again before going upstream
	for range 2 {
		// The closure captures this caller's ctx only for its values (trace
		// ids, loggers); fill detaches it from this caller's cancellation.
		ch := c.flight.DoChan(id, func() (any, error) { return c.fill(ctx, id, r, recheck) })
		select {
		case res := <-ch:
			if res.Err != nil {
				if stale != nil && errors.Is(res.Err, profiling.ErrUpstreamUnavailable) {
					return c.serveStale(ctx, id, stale, res.Err)
				}
				return nil, profiling.ReadInfo{}, res.Err
			}
			// Every waiter decodes its own copy from the shared bytes, so no
			// two callers ever share a *User or its maps.
			got, err := decode(res.Val.([]byte), id)
			if err != nil {
				return nil, profiling.ReadInfo{}, err
			}
			if !r.Satisfies(got.user, got.fetched) {
				recheck = true
				continue
			}
			if got.missing() {
				return nil, profiling.ReadInfo{}, fmt.Errorf("cache: user %q: %w (remembered)", id, profiling.ErrUserNotFound)
			}
			return got.user, profiling.ReadInfo{}, nil
		case <-wait.C:
			// The fill goes on and fills the cache for the next reader.
			err := fmt.Errorf("cache: user %q: %w: no upstream answer within %v", id, profiling.ErrUpstreamUnavailable, c.cfg.UpstreamWait)
			if stale != nil {
				return c.serveStale(ctx, id, stale, err)
			}
			return nil, profiling.ReadInfo{}, err
		case <-ctx.Done():
			// The fill goes on for the other waiters and still fills the cache.
			return nil, profiling.ReadInfo{}, fmt.Errorf("cache: user %q: %w", id, callerErr(ctx))
		}
	}
	return nil, profiling.ReadInfo{}, fmt.Errorf("cache: user %q: %w: no copy read after %v", id, profiling.ErrUpstreamUnavailable, r.After)
}

// readExclusive reads the user upstream for the write path: a read of its
// own, never one shared with readers that started before the caller held
// the user's lock, so the change is computed from a copy no older than the
// last write. It is stored for later readers like any fill.
func (c *Cache) readExclusive(ctx context.Context, id string) (*profiling.User, profiling.ReadInfo, error) {
	raw, err := c.fill(ctx, id, profiling.Read{}, false)
	if err != nil {
		return nil, profiling.ReadInfo{}, err
	}
	e, err := decode(raw, id)
	if err != nil {
		return nil, profiling.ReadInfo{}, err
	}
	if e.missing() {
		return nil, profiling.ReadInfo{}, fmt.Errorf("cache: user %q: %w", id, profiling.ErrUserNotFound)
	}
	return e.user, profiling.ReadInfo{}, nil
}

// callerErr is the caller's own reason for ending: a passed deadline is
// the upstream's slowness as far as the client is concerned.
func callerErr(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		err = context.DeadlineExceeded // the deadline passed a moment before the timer fired
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: request deadline passed while waiting for upstream: %w", profiling.ErrUpstreamUnavailable, err)
	}
	return err
}

// servableStale reports whether e may answer a reader while upstream is
// unavailable.
func (c *Cache) servableStale(e *cached, now time.Time) bool {
	return !e.missing() && c.cfg.MaxStale >= 0 && now.Before(e.freshUntil.Add(c.cfg.MaxStale))
}

// serveStale answers from e in place of upstream, flagged as stale.
func (c *Cache) serveStale(ctx context.Context, id string, e *cached, cause error) (*profiling.User, profiling.ReadInfo, error) {
	age := time.Since(e.fetched)
	c.metrics.staleServed.Inc()
	c.log.WarnContext(ctx, "cache: upstream unavailable; answering from a stale copy",
		"user_id", id, "age", age.Round(time.Millisecond).String(), "error", cause)
	return e.user, profiling.ReadInfo{Stale: true, Age: age}, nil
}

// UpdateUser applies p upstream and stores the user the upstream store
// returns, so the next read costs no upstream call and sees the change.
//
// A failed update leaves the cached entry alone when the store's error says
// nothing was applied (it has a ChangeNotApplied method returning true, as
// auth0store's errors for 4xx, 429 and 5xx answers do): dropping the entry
// would turn one rate-limited write into more rate-limited reads. Any other
// failure (a timeout, an answer that did not decode, a vanished user) may
// have changed the user, so the entry is dropped.
func (c *Cache) UpdateUser(ctx context.Context, id string, p profiling.Patch) (*profiling.User, error) {
	if id == "" {
		return nil, fmt.Errorf("cache: empty user id: %w", profiling.ErrUserNotFound)
	}
	u, err := c.next.UpdateUser(ctx, id, p)
	if err != nil {
		if mayHaveChanged(err) {
			c.forget(context.WithoutCancel(ctx), id)
		}
		return nil, fmt.Errorf("cache: update user %q: %w", id, err)
	}
	if u == nil {
		c.forget(context.WithoutCancel(ctx), id)
		return nil, fmt.Errorf("cache: update user %q: upstream store returned no user", id)
	}
	if u.ID != id {
		// Never hand one user's record to a request about another.
		c.log.ErrorContext(ctx, "cache: upstream returned another user than the one updated",
			"user_id", id, "returned_id", u.ID)
		c.forget(context.WithoutCancel(ctx), id)
		return nil, fmt.Errorf("cache: update user %q: upstream store returned user %q", id, u.ID)
	}
	raw, ttl, err := c.encodeUser(u, time.Now())
	if err != nil {
		// The change is applied upstream but cannot be cached; the old entry
		// is now wrong, so drop it and hand back upstream's own user.
		c.log.ErrorContext(ctx, "cache: cannot encode updated user; dropping its entry", "user_id", id, "error", err)
		c.forget(context.WithoutCancel(ctx), id)
		return u, nil
	}
	c.local.put(id, raw)
	// Detached from the caller: a caller that gives up right after the
	// upstream write must not leave the old value cached.
	if err := c.store(context.WithoutCancel(ctx), id, raw, version(u), ttl); err != nil {
		c.forget(context.WithoutCancel(ctx), id)
	}
	// Decoding our own encoding gives the caller the very shape later reads
	// return, sharing nothing with the upstream store.
	e, err := decode(raw, id)
	if err != nil {
		return nil, err
	}
	return e.user, nil
}

// changeNotApplied is implemented by store errors that know whether a
// failed change left the user untouched.
type changeNotApplied interface {
	ChangeNotApplied() bool
}

func mayHaveChanged(err error) bool {
	var na changeNotApplied
	return !errors.As(err, &na) || !na.ChangeNotApplied()
}

// Invalidate removes the user's entry, so the next read asks upstream. Use
// it when the user changed by a path that bypasses this cache.
func (c *Cache) Invalidate(ctx context.Context, id string) error {
	err := c.redisDo(ctx, func(ctx context.Context) error { return c.rdb.Del(ctx, c.Key(id)).Err() })
	if err != nil {
		return fmt.Errorf("cache: invalidate user %q: %w", id, err)
	}
	return nil
}

// fill runs once per user for all concurrent misses: it reads the user
// upstream, stores it, and returns its entry for each waiter to decode.
func (c *Cache) fill(callerCtx context.Context, id string, r profiling.Read, recheck bool) (raw []byte, err error) {
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
		e, err := c.lookup(ctx, id)
		if err != nil && !r.Exclusive {
			e = c.local.get(id) // as in User: Redis cannot answer, our own copy may
		}
		if e != nil && e.answers(time.Now(), r) {
			if e.missing() {
				return nil, fmt.Errorf("cache: user %q: %w (remembered)", id, profiling.ErrUserNotFound)
			}
			return e.raw, nil
		}
	}

	fetched := time.Now()
	u, _, err := c.next.User(ctx, id, profiling.Read{})
	if err != nil {
		if errors.Is(err, profiling.ErrUserNotFound) {
			c.storeMissing(ctx, id, fetched)
		}
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
	raw, ttl, err := c.encodeUser(u, fetched)
	if err != nil {
		return nil, fmt.Errorf("cache: user %q: encode: %w", id, err)
	}
	c.local.put(id, raw)
	_ = c.store(ctx, id, raw, version(u), ttl) // logged; the readers have their user
	return raw, nil
}

// lookup returns the decoded entry if Redis holds one, and nil otherwise:
// Redis is never the reason a read fails. err reports a Redis failure (as
// opposed to a miss) so callers can avoid asking a failing Redis twice, and
// can turn to the in-process copy instead.
func (c *Cache) lookup(ctx context.Context, id string) (*cached, error) {
	if c.isUnsynced(id) {
		// Redis may hold a copy from before a change this instance made:
		// with Redis usable again (allow also lets a due probe start), a
		// miss, whose fill stores the user afresh; otherwise a failure, so
		// the in-process copy (which holds that change) answers.
		if c.breaker.allow() {
			return nil, nil
		}
		return nil, errBreakerOpen
	}
	var raw []byte
	err := c.redisDo(ctx, func(ctx context.Context) error {
		var err error
		raw, err = c.rdb.Get(ctx, c.Key(id)).Bytes()
		return err
	})
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		if !callerGone(ctx) && !errors.Is(err, errBreakerOpen) { // the caller leaving is not a Redis fault
			c.log.WarnContext(ctx, "cache: redis read failed", "user_id", id, "error", err)
		}
		return nil, err
	}
	e, err := decode(raw, id)
	if err != nil {
		c.log.WarnContext(ctx, "cache: undecodable entry; refilling it", "user_id", id, "error", err)
		return nil, nil
	}
	c.local.put(id, raw)
	return e, nil
}

// storeScript writes an entry unless Redis holds one for a newer version of
// the user (a larger updated_ms), so a fill that read upstream before a
// concurrent write can never replace that write's entry. Entries begin with
// {"updated_ms":N, which lets the script read the held version without a
// JSON parser; anything else held (garbage, an old format) is replaced.
// It returns 1 when it wrote, 0 when it kept a newer entry.
var storeScript = redis.NewScript(`
local held = redis.call('GET', KEYS[1])
if held then
  local v = tonumber(string.match(held, '^{"updated_ms":(%d+)'))
  if v and v > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
`)

// store writes the user's entry with storeScript. Failures are logged and
// returned; a newer entry kept is not a failure. Storing an upstream copy
// means Redis holds no copy older than this instance's changes any more.
func (c *Cache) store(ctx context.Context, id string, raw []byte, ver int64, ttl time.Duration) error {
	var wrote int64
	err := c.redisDo(ctx, func(ctx context.Context) error {
		var err error
		wrote, err = storeScript.Run(ctx, c.rdb, []string{c.Key(id)}, raw, ver, ttl.Milliseconds()).Int64()
		return err
	})
	if err != nil {
		if !errors.Is(err, errBreakerOpen) {
			c.log.WarnContext(ctx, "cache: redis write failed", "user_id", id, "error", err)
		}
		return err
	}
	if wrote == 0 {
		c.log.DebugContext(ctx, "cache: kept a newer entry than the copy being stored", "user_id", id, "version", ver)
	}
	c.markSynced(id)
	return nil
}

// storeMissing remembers that upstream has no such user, for NegativeTTL.
// It overwrites any entry: the user is gone, so no copy of it should stay.
func (c *Cache) storeMissing(ctx context.Context, id string, fetched time.Time) {
	if c.cfg.NegativeTTL < 0 {
		return
	}
	raw, err := json.Marshal(entry{FetchedAt: fetched.UnixMilli(), FreshUntil: fetched.Add(c.cfg.NegativeTTL).UnixMilli(), Missing: true})
	if err != nil {
		return
	}
	c.local.put(id, raw)
	err = c.redisDo(ctx, func(ctx context.Context) error {
		return c.rdb.Set(ctx, c.Key(id), raw, c.cfg.NegativeTTL).Err()
	})
	if err != nil && !errors.Is(err, errBreakerOpen) {
		c.log.WarnContext(ctx, "cache: redis write failed", "user_id", id, "error", err)
	}
}

// forget deletes the user's entry after a change that may have made it
// wrong. If Redis cannot be told, the user is marked unsynced: reads skip
// Redis for it, and its entry is deleted before Redis is used again.
func (c *Cache) forget(ctx context.Context, id string) {
	c.local.drop(id)
	if err := c.Invalidate(ctx, id); err != nil {
		if !errors.Is(err, errBreakerOpen) {
			c.log.WarnContext(ctx, "cache: redis delete failed", "user_id", id, "error", err)
		}
		c.markUnsynced(id)
	}
}

func (c *Cache) markUnsynced(id string) {
	c.unsyncedMu.Lock()
	defer c.unsyncedMu.Unlock()
	if len(c.unsynced) >= maxUnsynced {
		c.log.Error("cache: too many users changed while Redis was unavailable; their entries may be stale until TTL", "user_id", id)
		return
	}
	c.unsynced[id] = struct{}{}
}

func (c *Cache) markSynced(id string) {
	c.unsyncedMu.Lock()
	defer c.unsyncedMu.Unlock()
	delete(c.unsynced, id)
}

func (c *Cache) isUnsynced(id string) bool {
	c.unsyncedMu.Lock()
	defer c.unsyncedMu.Unlock()
	_, ok := c.unsynced[id]
	return ok
}

// probeRedis is the breaker's probe: Redis answers PING, and the entries
// of users changed while it was skipped are deleted, before it is used
// again.
func (c *Cache) probeRedis(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return err
	}
	c.unsyncedMu.Lock()
	ids := make([]string, 0, len(c.unsynced))
	for id := range c.unsynced {
		ids = append(ids, id)
	}
	c.unsyncedMu.Unlock()
	for _, id := range ids {
		// One DEL per key: keys of a cluster live in different slots.
		if err := c.rdb.Del(ctx, c.Key(id)).Err(); err != nil {
			return err
		}
		c.markSynced(id)
	}
	return nil
}

// redisDo runs one Redis operation under the circuit breaker and
// RedisTimeout.
func (c *Cache) redisDo(ctx context.Context, op func(context.Context) error) error {
	if !c.breaker.allow() {
		return errBreakerOpen
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	err := op(rctx)
	c.breaker.record(err, callerGone(ctx))
	return err
}

// callerGone reports whether the caller's context has ended or its deadline
// has passed. The deadline is checked too because a Redis call bounded by
// that deadline can fail with an i/o timeout a moment before the context's
// own timer marks it done; that failure is the caller's, not Redis's.
func callerGone(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

// freshTTL returns a fresh period in (TTL*(1-Jitter), TTL], so entries
// filled together expire apart and no entry is fresh longer than TTL.
func (c *Cache) freshTTL() time.Duration {
	cut := time.Duration(rand.Float64() * c.cfg.Jitter * float64(c.cfg.TTL))
	return max(c.cfg.TTL-cut, time.Millisecond)
}

// entryTTL is how long Redis keeps an entry: its fresh period, then
// MaxStale for answering while upstream is down.
func (c *Cache) entryTTL(fresh time.Duration) time.Duration {
	if c.cfg.MaxStale > 0 {
		fresh += c.cfg.MaxStale
	}
	return max(fresh, time.Millisecond)
}

// entry is what Redis holds for one user. Version must stay the first
// field: storeScript reads it from the start of the JSON.
type entry struct {
	// Version is the user's updated_at in Unix milliseconds (0 for a
	// missing user): what storeScript compares.
	Version int64 `json:"updated_ms"`
	// FetchedAt is when the copy was read from, or written to, upstream
	// (Unix milliseconds); it decides whether the copy is fresh enough for
	// a caller's token (profiling.IsFreshFor) and is the age of a stale
	// answer.
	FetchedAt int64 `json:"fetched_ms"`
	// FreshUntil ends the fresh period (Unix milliseconds).
	FreshUntil int64 `json:"fresh_ms"`
	// Missing marks a user upstream reported missing (no User then).
	Missing bool            `json:"missing,omitempty"`
	User    *profiling.User `json:"user,omitempty"`
}

// cached is a decoded entry.
type cached struct {
	user       *profiling.User // nil when upstream reported the user missing
	raw        []byte
	fetched    time.Time
	freshUntil time.Time
}

func (e *cached) missing() bool { return e.user == nil }

// answers reports whether the entry may answer r at now without asking
// upstream: still in its fresh period, and a copy r accepts.
func (e *cached) answers(now time.Time, r profiling.Read) bool {
	return now.Before(e.freshUntil) && r.Satisfies(e.user, e.fetched)
}

func version(u *profiling.User) int64 {
	if u.UpdatedAt.IsZero() {
		return 0
	}
	return max(u.UpdatedAt.UnixMilli(), 0)
}

// encodeUser returns the user's entry and how long Redis should keep it.
func (c *Cache) encodeUser(u *profiling.User, fetched time.Time) ([]byte, time.Duration, error) {
	fresh := c.freshTTL()
	raw, err := json.Marshal(entry{
		Version:    version(u),
		FetchedAt:  fetched.UnixMilli(),
		FreshUntil: fetched.Add(fresh).UnixMilli(),
		User:       u,
	})
	return raw, c.entryTTL(fresh - time.Since(fetched)), err
}

// decode turns an entry into a fresh user (or a missing-user record),
// rejecting entries that are not JSON, do not fit the entry shape, or hold
// another user (which also catches "{}" and "null"). Every call returns its
// own copy of the user, sharing nothing with any other caller's.
//
// decode is a pure function of (raw, id), so it is memoised: the last entry
// decoded for each recently read user is kept, privately, and a hit whose
// bytes are the same byte for byte is answered with a deep copy of it
// (cloneUser) instead of a JSON decode, which was most of a cache hit's CPU.
func decode(raw []byte, id string) (*cached, error) {
	if m, ok := decodedEntries.Get(id); ok && bytes.Equal(m.raw, raw) {
		return m.copyFor(raw), nil
	}
	e, err := decodeJSON(raw, id)
	if err != nil {
		return nil, err
	}
	decodedEntries.Add(id, e)
	return e.copyFor(raw), nil
}

// decodedEntries holds decode's memo: entries never handed to a caller.
var decodedEntries = func() *lru.Cache[string, *cached] {
	l, err := lru.New[string, *cached](decodedEntriesSize)
	if err != nil {
		panic("cache: decoded entries: " + err.Error())
	}
	return l
}()

const decodedEntriesSize = 4096

// copyFor returns a copy of the entry for one caller, with its own user.
func (e *cached) copyFor(raw []byte) *cached {
	c := *e
	c.raw = raw
	if e.user != nil {
		c.user = cloneUser(e.user)
	}
	return &c
}

// cloneUser deep-copies a user as decoded from JSON: its maps hold only
// what encoding/json decodes into an any (maps, slices, strings, float64,
// bool, nil). A new reference-typed field of profiling.User must be copied
// here; TestCloneUserCopiesEveryField fails until it is.
func cloneUser(u *profiling.User) *profiling.User {
	c := *u
	if u.Identities != nil {
		c.Identities = make([]profiling.Identity, len(u.Identities))
		for i, id := range u.Identities {
			id.ProfileData = cloneMap(id.ProfileData)
			c.Identities[i] = id
		}
	}
	c.RootAttributes = cloneMap(u.RootAttributes)
	c.UserMetadata = cloneMap(u.UserMetadata)
	c.AppMetadata = cloneMap(u.AppMetadata)
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneJSON(v)
	}
	return out
}

func cloneJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		if t == nil {
			return t
		}
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = cloneJSON(x)
		}
		return out
	}
	return v
}

func decodeJSON(raw []byte, id string) (*cached, error) {
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("cache: decode user %q: %w", id, err)
	}
	out := &cached{raw: raw, fetched: time.UnixMilli(e.FetchedAt), freshUntil: time.UnixMilli(e.FreshUntil)}
	if e.Missing && e.User == nil {
		return out, nil
	}
	if e.User == nil || e.User.ID != id {
		return nil, fmt.Errorf("cache: entry for user %q does not hold that user", id)
	}
	out.user = e.User
	return out, nil
}
