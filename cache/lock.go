package cache

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/profiling"
)

// LockKey returns the Redis key of the user's write lock.
func (c *Cache) LockKey(id string) string {
	return c.cfg.LockPrefix + id
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

// LockUser implements profiling.UserLocker: it takes the user's write lock
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
func (c *Cache) LockUser(ctx context.Context, id string) (unlock func(), err error) {
	if id == "" {
		return nil, fmt.Errorf("cache: lock user: empty user id: %w", profiling.ErrUserNotFound)
	}
	key, token := c.LockKey(id), rand.Text()
	deadline := time.Now().Add(c.cfg.LockWait)
	backoff := lockBackoffFirst
	for {
		var acquired bool
		err := c.redisDo(ctx, func(ctx context.Context) error {
			var err error
			acquired, err = c.rdb.SetNX(ctx, key, token, c.cfg.LockTTL).Result()
			return err
		})
		switch {
		case err != nil && callerGone(ctx):
			cause := ctx.Err()
			if cause == nil { // the deadline passed; the context's timer has not fired yet
				cause = context.DeadlineExceeded
			}
			return nil, lockGaveUp(id, cause)
		case err != nil:
			c.metrics.locks.WithLabelValues("redis_unavailable").Inc()
			c.log.WarnContext(ctx, "cache: user write lock unavailable (Redis failing); writing without it",
				"user_id", id, "error", err)
			return func() {}, nil
		case acquired:
			c.metrics.locks.WithLabelValues("acquired").Inc()
			return c.unlocker(ctx, id, key, token), nil
		}

		wait := backoff/2 + mathrand.N(backoff/2+1)
		if time.Now().Add(wait).After(deadline) {
			c.metrics.locks.WithLabelValues("timeout").Inc()
			return nil, fmt.Errorf("cache: user %q: %w: another change to this user did not finish within %v",
				id, profiling.ErrUpstreamUnavailable, c.cfg.LockWait)
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
		return fmt.Errorf("cache: user %q: %w: request deadline passed while waiting for the write lock: %w",
			id, profiling.ErrUpstreamUnavailable, err)
	}
	return fmt.Errorf("cache: user %q: waiting for the write lock: %w", id, err)
}

// unlocker releases the lock once, detached from the caller so that a
// caller giving up still frees the user for the next writer. A failed
// release is logged; the lock then expires after LockTTL.
func (c *Cache) unlocker(ctx context.Context, id, key, token string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			err := c.redisDo(context.WithoutCancel(ctx), func(ctx context.Context) error {
				return unlockScript.Run(ctx, c.rdb, []string{key}, token).Err()
			})
			if err != nil {
				c.log.WarnContext(ctx, "cache: user write lock not released; it expires on its own",
					"user_id", id, "expires_in", c.cfg.LockTTL.String(), "error", err)
			}
		})
	}
}
