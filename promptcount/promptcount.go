// Package promptcount is profiling.PromptCounter on Redis: how many prompts
// each user was shown this UTC day and this ISO week, for the question
// budget. One counter per user and window, expiring after its window, so
// counting costs no write to the identity provider and no clean-up.
package promptcount

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/nearcache"
	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/redisconn"
)

// DefaultPrefix starts every counter's key: pp:prompts:{<user id>}:<window>.
// The braces keep a user's two counters in one cluster slot.
const DefaultPrefix = "pp:prompts:"

// How long each window's counter outlives the window's start: long enough
// for any time zone's end of the window, short enough to clean itself up.
const (
	dayTTL  = 48 * time.Hour
	weekTTL = 8 * 24 * time.Hour
)

// Counter counts prompts in Redis. It is safe for concurrent use.
type Counter struct {
	rdb    redis.UniversalClient
	guard  *redisconn.Guard
	near   *nearcache.Cache
	prefix string
	log    *slog.Logger
}

var _ profiling.PromptCounter = (*Counter)(nil)

// New returns a Counter on rdb through guard (shared with the cache and
// the lock, so one breaker says whether Redis is usable). near, when not
// nil, answers reads of the counts from memory while it holds them (it
// must hold prefix). An empty prefix is DefaultPrefix; a nil logger is
// slog.Default().
func New(rdb redis.UniversalClient, guard *redisconn.Guard, near *nearcache.Cache, prefix string, log *slog.Logger) *Counter {
	if rdb == nil || guard == nil {
		panic("promptcount.New: nil redis client or guard")
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if log == nil {
		log = slog.Default()
	}
	return &Counter{rdb: rdb, guard: guard, near: near, prefix: prefix, log: log}
}

// Keys returns the user's counter keys for the windows that hold at now.
func (c *Counter) Keys(userID string, now time.Time) (day, week string) {
	d, w := profiling.BudgetWindows(now)
	base := c.prefix + "{" + userID + "}:"
	return base + d, base + w
}

// Prompts returns the user's counts at now.
func (c *Counter) Prompts(ctx context.Context, userID string, now time.Time) (profiling.PromptCounts, error) {
	day, week := c.Keys(userID, now)
	vals, err := c.near.Many(ctx, []string{day, week}, func(ctx context.Context, keys []string) ([]nearcache.Value, error) {
		var vals []any
		err := c.guard.Do(ctx, func(ctx context.Context) error {
			var err error
			vals, err = c.rdb.MGet(ctx, keys...).Result()
			return err
		})
		out := make([]nearcache.Value, len(vals))
		for i, v := range vals {
			if s, ok := v.(string); ok {
				out[i] = nearcache.Value{Bytes: []byte(s), Found: true}
			}
		}
		return out, err
	})
	if err != nil {
		return profiling.PromptCounts{}, c.failed("read", err)
	}
	return profiling.PromptCounts{Day: asCount(vals[0].Bytes), Week: asCount(vals[1].Bytes)}, nil
}

// AddPrompt counts one prompt at now and returns the new counts.
func (c *Counter) AddPrompt(ctx context.Context, userID string, now time.Time) (profiling.PromptCounts, error) {
	day, week := c.Keys(userID, now)
	var dayN, weekN *redis.IntCmd
	err := c.guard.Do(ctx, func(ctx context.Context) error {
		_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			dayN = p.Incr(ctx, day)
			p.Expire(ctx, day, dayTTL)
			weekN = p.Incr(ctx, week)
			p.Expire(ctx, week, weekTTL)
			return nil
		})
		return err
	})
	c.near.Forget(day)
	c.near.Forget(week)
	if err != nil {
		return profiling.PromptCounts{}, c.failed("count", err)
	}
	return profiling.PromptCounts{Day: int(dayN.Val()), Week: int(weekN.Val())}, nil
}

// failed logs a counter outage: the budget is not applied meanwhile (the
// Service treats an unknown count as no budget).
func (c *Counter) failed(op string, err error) error {
	if !errors.Is(err, context.Canceled) {
		c.log.Warn("prompt counter unavailable; question budget not applied", "op", op, "error", err)
	}
	return err
}

func asCount(s []byte) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' || n > 1<<30 {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}
