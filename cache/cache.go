// Package cache keeps users in Redis in front of a slower, rate-limited
// profiling.UserStore (Auth0's Management API), and is itself a
// profiling.UserStore, so callers cannot tell it from the store it wraps.
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
// Each read says what copy it accepts (profiling.Read): one read after a
// given instant (the user may have logged in since, moving them to the next
// stage), one showing a login count, or, for the write path under the
// user's lock, one no older than the call (Exclusive: never a fill another
// reader started earlier). Each entry records when it was fetched, so a new
// token costs one upstream read, not one per request; a reader that joined
// an older fill waits for one of its own.
//
// # Entries
//
// Entries are compact JSON under KeyPrefix+id, beginning with the user's
// updated_at in Unix milliseconds ({"updated_ms":N,...}), then the fetch
// time, the end of the fresh period and the user (this package's own
// storedUser shape, see entry.go).
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
// replace an entry holding a newer updated_at, atomically in Redis, or,
// when the key held nothing a moment before, a SET NX, which replaces
// nothing (and falls back to the script if an entry appeared). So a fill
// that read upstream before a concurrent UpdateUser can never replace that
// update's fresher entry, whichever finishes last.
//
// # Upstream down
//
// When upstream fails with profiling.ErrUpstreamUnavailable (5xx, 429, a
// timeout, an answer that does not decode) or does not answer within
// UpstreamWait, a reader whose Read allows it (AllowStale) and that holds an
// entry no older than TTL+MaxStale is answered from it, and the answer is
// flagged: profiling.ReadInfo says Stale with the copy's age, which the
// GraphQL layer turns into a response extension, and
// bff_cache_stale_served_total counts it. This applies as well to a copy
// that is merely older than the caller's token: with upstream down, the
// last known profile (possibly a login behind) beats an error. A reader
// with no usable entry gets ErrUpstreamUnavailable within UpstreamWait,
// whatever retries the upstream store is still making.
//
// A user upstream reports missing is remembered for NegativeTTL (an entry
// with "missing":true), so a stream of requests for a deleted user costs
// one upstream call per NegativeTTL; a successful write replaces it.
//
// # Redis down
//
// Redis is an optimisation, never a dependency of reads: while it cannot
// answer, this instance's own copies answer (local.go), then upstream, and
// a failed Redis write is logged. A Redis read that fails because the
// caller left ends the read: nobody is waiting for an upstream answer.
// Every Redis operation goes through a redisconn.Guard shared with the
// other users of the same Redis: a timeout per operation and a circuit
// breaker, so a dead or blackholed Redis costs a request microseconds, not
// a timeout. Users this instance changed while it could not update their
// entries are remembered, read from upstream meanwhile, and their entries
// deleted before Redis is used again (the Guard's BeforeReuse hook), so no
// instance is served a copy from before such a change.
package cache

import (
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/redisconn"
)

// Cache is a read-through, write-through Redis cache of users in front of a
// profiling.UserStore. It is safe for concurrent use.
type Cache struct {
	rdb     redis.UniversalClient
	next    profiling.UserStore
	cfg     Config
	log     *slog.Logger
	flight  singleflight.Group
	guard   *redisconn.Guard
	metrics metrics
	local   localCopies
	notes   *storeNotes // when fills and writes last ended, for fill's recheck
	// staleLog lets serveStale log once a minute, not once per request
	// of an outage: bff_cache_stale_served_total counts every one.
	staleLog *rate.Limiter

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
)

// New returns a cache of next's users in rdb. It panics if rdb or next is
// nil or cfg holds an impossible value (negative durations, Jitter outside
// [0, 1), TTL under a millisecond), since those are programming errors.
func New(rdb redis.UniversalClient, guard *redisconn.Guard, next profiling.UserStore, cfg Config) *Cache {
	if rdb == nil || guard == nil {
		panic("cache.New: nil redis client or guard")
	}
	if next == nil {
		panic("cache.New: nil upstream user store")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		panic("cache.New: " + err.Error())
	}
	c := &Cache{rdb: rdb, guard: guard, next: next, cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Metrics), unsynced: map[string]struct{}{},
		local: newLocalCopies(cfg.LocalCopies), notes: newStoreNotes(), staleLog: rate.NewLimiter(rate.Every(time.Minute), 1)}
	guard.BeforeReuse(c.resyncEntries)
	return c
}

// Key returns the Redis key that holds the user with this id.
func (c *Cache) Key(id string) string {
	return c.cfg.KeyPrefix + id
}
