package cache

import (
	"context"

	"github.com/progressive-profiling/bff/redisconn"
)

// resyncEntries is the cache's hook before Redis is used again after an
// outage (redisconn.Guard.BeforeReuse): the entries of users changed while
// Redis was skipped are deleted, so no instance is served a copy from
// before such a change.
func (c *Cache) resyncEntries(ctx context.Context) error {
	c.unsyncedMu.Lock()
	ids := make([]string, 0, len(c.unsynced))
	for id := range c.unsynced {
		ids = append(ids, id)
	}
	c.unsyncedMu.Unlock()
	for _, id := range ids {
		// One DEL per key: keys of a cluster live in different slots.
		err := c.rdb.Del(ctx, c.Key(id)).Err()
		c.cfg.Near.Forget(c.Key(id))
		if err != nil {
			return err
		}
		c.markSynced(id)
	}
	return nil
}

// redisDo runs one Redis operation through the shared guard (its timeout
// and circuit breaker).
func (c *Cache) redisDo(ctx context.Context, op func(context.Context) error) error {
	return c.guard.Do(ctx, op)
}

// callerGone is redisconn.CallerGone: the caller's own context ended.
func callerGone(ctx context.Context) bool { return redisconn.CallerGone(ctx) }

// errBreakerOpen is what a Redis operation skipped by the breaker reports.
var errBreakerOpen = redisconn.ErrBreakerOpen
