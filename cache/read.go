package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/nearcache"
	"github.com/progressive-profiling/bff/profiling"
)

// User returns the user from Redis, or on a miss from the upstream store,
// storing it for the next reader. Every call returns its own copy. See the
// package documentation for what a reader gets while upstream is down.
func (c *Cache) User(ctx context.Context, id string, r profiling.Read) (*profiling.User, profiling.ReadInfo, error) {
	if id == "" {
		return nil, profiling.ReadInfo{}, fmt.Errorf("cache: empty user id: %w", profiling.ErrUserNotFound)
	}
	start := c.clock() // before the lookup: see fill's recheck
	e, absent, redisErr := c.lookup(ctx, id)
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
			c.metrics.hits.Inc()
			if e.missing() {
				return nil, profiling.ReadInfo{}, fmt.Errorf("cache: user %q: %w (remembered)", id, profiling.ErrUserNotFound)
			}
			return e.user, profiling.ReadInfo{}, nil
		case r.AllowStale && c.servableStale(e, now):
			stale = e
		}
	}
	if r.Exclusive {
		return c.readExclusive(ctx, id, absent)
	}
	c.metrics.misses.Inc()

	wait := time.NewTimer(c.cfg.UpstreamWait)
	defer wait.Stop()
	// A reader may join a fill another reader started before this call,
	// which may be older than r requires; then it waits for a second fill,
	// which starts after this call did. Two rounds always suffice.
	recheckSince := start
	if redisErr != nil {
		recheckSince = recheckNever // a Redis that just failed is not asked again before going upstream
	}
	for range 2 {
		// The closure captures this caller's ctx only for its values (trace
		// ids, loggers); fill detaches it from this caller's cancellation.
		ch := c.flight.DoChan(id, func() (any, error) { return c.fill(ctx, id, r, recheckSince, absent) })
		select {
		case res := <-ch:
			if res.Err != nil {
				if stale != nil && errors.Is(res.Err, profiling.ErrUpstreamUnavailable) {
					return c.serveStale(ctx, id, stale, res.Err)
				}
				return nil, profiling.ReadInfo{}, res.Err
			}
			// Every waiter copies the shared entry, so no two callers ever
			// share a *User or its maps.
			shared := res.Val.(*cached)
			got := shared.copyFor(shared.raw)
			if !r.Satisfies(got.user, got.fetched) {
				recheckSince = recheckAlways
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
func (c *Cache) readExclusive(ctx context.Context, id string, absent bool) (*profiling.User, profiling.ReadInfo, error) {
	e, err := c.fill(ctx, id, profiling.Read{}, recheckNever, absent)
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
	if c.staleLog.Allow() {
		c.log.WarnContext(ctx, "cache: upstream unavailable; answering from a stale copy (logged at most once a minute; bff_cache_stale_served_total counts each)",
			"user_id", id, "age", age.Round(time.Millisecond).String(), "error", cause)
	}
	return e.user, profiling.ReadInfo{Stale: true, Age: age}, nil
}

// fill runs once per user for all concurrent misses: it reads the user
// upstream, stores it, and returns its entry, which no one may change: each
// waiter takes a copy. It looks in Redis first if one of this instance's
// fills (or writes) of the user ended at or after recheckSince, a clock
// reading. absent says the last look found no entry at all (see store).
func (c *Cache) fill(callerCtx context.Context, id string, r profiling.Read, recheckSince int64, absent bool) (e *cached, err error) {
	defer c.noteStored(id) // deferred first, so it runs last: after the store
	// A panic here would otherwise crash the process: singleflight re-panics
	// on a fresh goroutine for DoChan callers.
	defer func() {
		if r := recover(); r != nil {
			c.log.ErrorContext(callerCtx, "cache: upstream read panicked", "user_id", id, "panic", r)
			e, err = nil, fmt.Errorf("cache: user %q: upstream read failed unexpectedly", id)
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(callerCtx), c.cfg.FillTimeout)
	defer cancel()

	// A fill that finished between this caller's miss and its joining the
	// flight has already stored the user; look again before spending an
	// upstream call. Only this instance's fills are noted: another
	// instance's, ending in that window, costs a second upstream read, on
	// this instance the first. That saves a Redis round trip on every miss.
	if c.storedSince(id, recheckSince) {
		e, gone, err := c.lookup(ctx, id)
		absent = gone
		if err != nil && !r.Exclusive {
			e = c.local.get(id) // as in User: Redis cannot answer, our own copy may
		}
		if e != nil && e.answers(time.Now(), r) {
			if e.missing() {
				return nil, fmt.Errorf("cache: user %q: %w (remembered)", id, profiling.ErrUserNotFound)
			}
			return e, nil
		}
	}

	fetched := time.Now()
	u, _, err := c.next.User(ctx, id, profiling.Read{})
	c.metrics.fillDuration.Observe(time.Since(fetched).Seconds())
	switch {
	case err == nil && u != nil && u.ID == id:
		c.metrics.fills.WithLabelValues(fillOK).Inc()
	case errors.Is(err, profiling.ErrUserNotFound):
		c.metrics.fills.WithLabelValues(fillNotFound).Inc()
	default:
		c.metrics.fills.WithLabelValues(fillError).Inc()
	}
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
	raw, en, ttl, err := c.encodeUser(u, fetched)
	if err != nil {
		return nil, fmt.Errorf("cache: user %q: encode: %w", id, err)
	}
	e, err = readBack(raw, en, id)
	if err != nil {
		return nil, err // our own encoding: a bug, not a miss
	}
	c.local.put(id, e)
	_ = c.store(ctx, id, e.raw, version(u), ttl, absent) // logged; the readers have their user
	return e, nil
}

// lookup returns the decoded entry if Redis holds one, and nil otherwise:
// Redis is never the reason a read fails. absent says Redis answered that
// it holds no entry under the key (not even an undecodable one). err
// reports a Redis failure (as opposed to a miss) so callers can avoid
// asking a failing Redis twice, and can turn to the in-process copy
// instead.
func (c *Cache) lookup(ctx context.Context, id string) (e *cached, absent bool, err error) {
	if c.isUnsynced(id) {
		// Redis may hold a copy from before a change this instance made:
		// with Redis usable again (allow also lets a due probe start), a
		// miss, whose fill stores the user afresh; otherwise a failure, so
		// the in-process copy (which holds that change) answers.
		if c.guard.Usable() {
			return nil, false, nil
		}
		return nil, false, errBreakerOpen
	}
	key := c.Key(id)
	v, err := c.cfg.Near.Get(ctx, key, func(ctx context.Context) (nearcache.Value, error) {
		var v nearcache.Value
		err := c.redisDo(ctx, func(ctx context.Context) error {
			raw, err := c.rdb.Get(ctx, key).Bytes()
			switch {
			case errors.Is(err, redis.Nil):
				return nil // no entry: a miss, not a failure
			case err != nil:
				return err
			}
			v = nearcache.Value{Bytes: raw, Found: true}
			return nil
		})
		return v, err
	})
	switch {
	case err != nil:
		if !callerGone(ctx) && !errors.Is(err, errBreakerOpen) { // the caller leaving is not a Redis fault
			c.log.WarnContext(ctx, "cache: redis read failed", "user_id", id, "error", err)
		}
		return nil, false, err
	case !v.Found:
		return nil, true, nil
	}
	e, err = c.local.take(id, v.Bytes)
	if err != nil {
		c.log.WarnContext(ctx, "cache: undecodable entry; refilling it", "user_id", id, "error", err)
		return nil, false, nil
	}
	return e, false, nil
}
