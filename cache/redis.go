package cache

import (
	"context"
	"time"
)

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
