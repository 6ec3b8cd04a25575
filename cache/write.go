package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/profiling"
)

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
	raw, en, ttl, err := c.encodeUser(u, time.Now())
	if err != nil {
		// The change is applied upstream but cannot be cached; the old entry
		// is now wrong, so drop it and hand back upstream's own user.
		c.log.ErrorContext(ctx, "cache: cannot encode updated user; dropping its entry", "user_id", id, "error", err)
		c.forget(context.WithoutCancel(ctx), id)
		return u, nil
	}
	// Our own encoding, kept and copied: the caller gets the very shape
	// later reads return, sharing nothing with the upstream store.
	kept, err := readBack(raw, en, id)
	if err != nil {
		c.forget(context.WithoutCancel(ctx), id)
		return nil, err
	}
	c.local.put(id, kept)
	// Detached from the caller: a caller that gives up right after the
	// upstream write must not leave the old value cached.
	if err := c.store(context.WithoutCancel(ctx), id, kept.raw, version(u), ttl, false); err != nil {
		c.forget(context.WithoutCancel(ctx), id)
	}
	c.noteStored(id) // a reader that missed before this store looks again
	return kept.copyFor(kept.raw).user, nil
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
	c.cfg.Near.Forget(c.Key(id))
	if err != nil {
		return fmt.Errorf("cache: invalidate user %q: %w", id, err)
	}
	return nil
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
//
// absent says the last look at Redis found no entry, as on most misses:
// then a SET NX writes it, which costs Redis a fraction of the script and
// replaces nothing, so it can be no stale set; only if an entry appeared
// since (newer, older or garbage) does the script decide. Either way the
// outcome is the script's.
func (c *Cache) store(ctx context.Context, id string, raw []byte, ver int64, ttl time.Duration, absent bool) error {
	var wrote int64
	err := c.redisDo(ctx, func(ctx context.Context) error {
		if absent {
			set, err := c.rdb.SetNX(ctx, c.Key(id), raw, ttl).Result()
			if err != nil {
				return err
			}
			if set {
				wrote = 1
				return nil
			}
		}
		var err error
		wrote, err = storeScript.Run(ctx, c.rdb, []string{c.Key(id)}, raw, ver, ttl.Milliseconds()).Int64()
		return err
	})
	c.cfg.Near.Forget(c.Key(id)) // whether or not it wrote: a read in flight keeps nothing older
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
	_ = c.local.keep(id, raw) // our own encoding of a missing user
	err = c.redisDo(ctx, func(ctx context.Context) error {
		return c.rdb.Set(ctx, c.Key(id), raw, c.cfg.NegativeTTL).Err()
	})
	c.cfg.Near.Forget(c.Key(id))
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
