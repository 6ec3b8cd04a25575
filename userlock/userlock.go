// Package userlock serialises the writers of one user across instances
// with a Redis lock: a profiling.Locker. Answers and skips read the user,
// compute a patch and write it, and the bookkeeping object in that patch
// replaces the stored one whole, so two unserialised writers could lose
// each other's records.
package userlock

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/redisconn"
)

// Defaults for the zero values of Config.
const (
	DefaultPrefix = "pp:lock:user:"
	DefaultTTL    = 15 * time.Second
	DefaultWait   = 5 * time.Second
)

// Config tunes Locks. The zero value of every field selects its default.
type Config struct {
	// Prefix is prepended to the user id to form the lock's key. It carries
	// no format version: instances of every version write the same users,
	// so they must share locks. Default DefaultPrefix.
	Prefix string
	// TTL is when a lock expires if its holder never releases it (crash,
	// lost connection). It must exceed the longest write: a read of up to
	// the cache's upstream wait plus the upstream update's own timeout
	// (the service checks this at start-up). Default DefaultTTL.
	TTL time.Duration
	// Wait is the longest LockUser waits for another writer of the same
	// user. Default DefaultWait.
	Wait time.Duration
	// Logger receives writes made without the lock. Default slog.Default().
	Logger *slog.Logger
	// Metrics receives bff_cache_user_lock_total{outcome}; nil registers
	// nothing.
	Metrics prometheus.Registerer
}

// Outcomes, the outcome label of the lock metrics.
const (
	outcomeAcquired         = "acquired"
	outcomeTimeout          = "timeout"
	outcomeRedisUnavailable = "redis_unavailable"
)

// Locks is a profiling.Locker on Redis. It is safe for concurrent use.
type Locks struct {
	rdb    redis.UniversalClient
	guard  *redisconn.Guard
	cfg    Config
	log    *slog.Logger
	counts *prometheus.CounterVec
	// wait is how long LockUser took, by outcome; contended counts locks
	// found held by another writer at the first try.
	wait      *prometheus.HistogramVec
	contended prometheus.Counter
}

var _ profiling.Locker = (*Locks)(nil)

// New returns the locks of users in rdb, reached through guard (shared
// with the cache, so one breaker says whether Redis is usable). It panics
// on a nil client or guard or an impossible Config.
func New(rdb redis.UniversalClient, guard *redisconn.Guard, cfg Config) *Locks {
	if rdb == nil || guard == nil {
		panic("userlock.New: nil redis client or guard")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Wait == 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TTL < time.Millisecond || cfg.Wait < 0 {
		panic(fmt.Sprintf("userlock.New: TTL must be at least 1ms and Wait not negative, got %v and %v", cfg.TTL, cfg.Wait))
	}
	counts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bff_cache_user_lock_total",
		Help: "User write lock requests by outcome: acquired, timeout (another writer held it), redis_unavailable (written without the lock).",
	}, []string{"outcome"})
	wait := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bff_cache_user_lock_wait_seconds",
		Help:    "Time to take a user's write lock (or give up), by outcome: acquired, timeout, redis_unavailable.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"outcome"})
	contended := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bff_cache_user_lock_contended_total",
		Help: "User write lock requests that found the lock held by another writer and had to wait.",
	})
	for _, o := range []string{outcomeAcquired, outcomeTimeout, outcomeRedisUnavailable} {
		counts.WithLabelValues(o)
	}
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(counts, wait, contended)
	}
	return &Locks{rdb: rdb, guard: guard, cfg: cfg, log: cfg.Logger, counts: counts, wait: wait, contended: contended}
}

// Key returns the Redis key of the user's write lock.
func (l *Locks) Key(id string) string {
	return l.cfg.Prefix + id
}

// unlockScript deletes the lock only if it still holds this owner's token:
// a holder whose lock expired must not release the next holder's.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Backoff between attempts to take a held lock: doubling from the first,
// capped, with jitter so waiters do not retry in step.
const (
	lockBackoffFirst = 5 * time.Millisecond
	lockBackoffMax   = 100 * time.Millisecond
)

// LockUser implements profiling.Locker: it takes the user's write lock
// in Redis (SET NX PX LockTTL with a random owner token) so that writers of
// one user, on any instance, run one at a time; unlock releases it only if
// this caller still owns it (compare-and-delete in Lua).
//
// A held lock is retried with jittered backoff for up to LockWait (or until
// ctx ends); then LockUser fails with an error wrapping
// profiling.ErrUpstreamUnavailable ("try again shortly"), and nothing is
// written. A lock whose holder died expires after LockTTL.
//
// When Redis cannot be reached (a failed SET, or the circuit breaker open)
// LockUser returns a no-op unlock and the write goes ahead unserialised:
// Redis is not made a dependency of writes. The risk is bounded: answers are
// separate top-level user_metadata keys that Auth0 merges, so only a
// bookkeeping record of two writes racing on the same user during the
// outage can be lost. Such writes are counted (bff_cache_user_lock_total,
// outcome redis_unavailable) and logged.
func (l *Locks) LockUser(ctx context.Context, id string) (unlock func(), err error) {
	if id == "" {
		return nil, fmt.Errorf("userlock: empty user id: %w", profiling.ErrUserNotFound)
	}
	reqCtx := ctx // the release is the request's, not the wait's
	// The wait is a span of the request's trace (its Redis commands are its
	// children), from the tracer of the request's own span.
	ctx, span := trace.SpanFromContext(ctx).TracerProvider().Tracer("github.com/progressive-profiling/bff/userlock").
		Start(ctx, "userlock.wait")
	start := time.Now()
	outcome, attempts := "", 0
	defer func() {
		if outcome != "" {
			l.counts.WithLabelValues(outcome).Inc()
			l.wait.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
		}
		span.SetAttributes(attribute.String("userlock.outcome", outcome), attribute.Int("userlock.attempts", attempts))
		if err != nil {
			span.SetStatus(codes.Error, "user write lock not taken")
		}
		span.End()
	}()
	key, token := l.Key(id), rand.Text()
	deadline := time.Now().Add(l.cfg.Wait)
	backoff := lockBackoffFirst
	for {
		var acquired bool
		attempts++
		if attempts == 2 {
			l.contended.Inc()
		}
		err := l.guard.Do(ctx, func(ctx context.Context) error {
			var err error
			acquired, err = l.rdb.SetNX(ctx, key, token, l.cfg.TTL).Result()
			return err
		})
		switch {
		case err != nil && redisconn.CallerGone(ctx):
			cause := ctx.Err()
			if cause == nil { // the deadline passed; the context's timer has not fired yet
				cause = context.DeadlineExceeded
			}
			return nil, lockGaveUp(id, cause)
		case err != nil:
			outcome = outcomeRedisUnavailable
			l.log.WarnContext(ctx, "userlock: user write lock unavailable (Redis failing); writing without it",
				"user_id", id, "error", err)
			return func() {}, nil
		case acquired:
			outcome = outcomeAcquired
			return l.unlocker(reqCtx, id, key, token), nil
		}

		wait := backoff/2 + mathrand.N(backoff/2+1)
		if time.Now().Add(wait).After(deadline) {
			outcome = outcomeTimeout
			return nil, fmt.Errorf("userlock: user %q: %w: another change to this user did not finish within %v",
				id, profiling.ErrUpstreamUnavailable, l.cfg.Wait)
		}
		backoff = min(2*backoff, lockBackoffMax)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, lockGaveUp(id, ctx.Err())
		}
	}
}

func lockGaveUp(id string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("userlock: user %q: %w: request deadline passed while waiting for the write lock: %w",
			id, profiling.ErrUpstreamUnavailable, err)
	}
	return fmt.Errorf("userlock: user %q: waiting for the write lock: %w", id, err)
}

// unlocker releases the lock once, detached from the caller so that a
// caller giving up still frees the user for the next writer. A failed
// release is logged; the lock then expires after LockTTL.
func (l *Locks) unlocker(ctx context.Context, id, key, token string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			err := l.guard.Do(context.WithoutCancel(ctx), func(ctx context.Context) error {
				return unlockScript.Run(ctx, l.rdb, []string{key}, token).Err()
			})
			if err != nil {
				l.log.WarnContext(ctx, "userlock: user write lock not released; it expires on its own",
					"user_id", id, "expires_in", l.cfg.TTL.String(), "error", err)
			}
		})
	}
}
