package promptcount

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/internal/redistest"
	"github.com/progressive-profiling/bff/nearcache"
	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/redisconn"
)

// counters returns a Counter on a fresh redis-server, reading through a
// near cache when near is set, and a second Counter playing another
// instance.
func counters(t *testing.T, near bool) (c, other *Counter, rs *redistest.Server, rdb *redis.Client) {
	t.Helper()
	rs = redistest.Start(t)
	rdb = redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1})
	otherRDB := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close(); otherRDB.Close() })
	var nc *nearcache.Cache
	if near {
		var err error
		if nc, err = nearcache.Open(context.Background(), rdb, nearcache.Config{Prefixes: []string{DefaultPrefix}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
	}
	c = New(rdb, redisconn.NewGuard(rdb, redisconn.GuardConfig{}), nc, "", nil)
	other = New(otherRDB, redisconn.NewGuard(otherRDB, redisconn.GuardConfig{}), nil, "", nil)
	return c, other, rs, rdb
}

func TestCountsPerDayAndWeekInRealRedis(t *testing.T) {
	for _, near := range []bool{false, true} {
		t.Run(map[bool]string{false: "redis", true: "near"}[near], func(t *testing.T) { testCounts(t, near) })
	}
}

func testCounts(t *testing.T, near bool) {
	c, other, rs, rdb := counters(t, near)
	ctx := context.Background()
	mon := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC) // a Monday
	for i := range 3 {
		if _, err := c.AddPrompt(ctx, "auth0|a", mon.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Prompts(ctx, "auth0|a", mon)
	if err != nil || got != (profiling.PromptCounts{Day: 3, Week: 3}) {
		t.Fatalf("Monday: %+v %v", got, err)
	}
	tue := mon.Add(24 * time.Hour)
	if n, _ := c.AddPrompt(ctx, "auth0|a", tue); n != (profiling.PromptCounts{Day: 1, Week: 4}) {
		t.Errorf("Tuesday after one more: %+v, want day 1 week 4", n)
	}
	if n, _ := c.Prompts(ctx, "auth0|a", mon.Add(7*24*time.Hour)); n != (profiling.PromptCounts{}) {
		t.Errorf("next Monday: %+v, want a fresh week", n)
	}
	if n, _ := c.Prompts(ctx, "auth0|b", mon); n != (profiling.PromptCounts{}) {
		t.Errorf("another user: %+v", n)
	}
	// Another instance's prompt is in this one's very next count.
	c.Prompts(ctx, "auth0|b", mon)
	other.AddPrompt(ctx, "auth0|b", mon)
	if n, _ := c.Prompts(ctx, "auth0|b", mon); n != (profiling.PromptCounts{Day: 1, Week: 1}) {
		t.Errorf("after another instance counted one: %+v", n)
	}
	day, week := c.Keys("auth0|a", mon)
	for key, max := range map[string]time.Duration{day: dayTTL, week: weekTTL} {
		ttl := rdb.TTL(ctx, key).Val()
		if ttl <= 0 || ttl > max {
			t.Errorf("%s TTL %s, want up to %s", key, ttl, max)
		}
	}
	rs.Stop()
	if _, err := c.Prompts(ctx, "auth0|a", mon); err == nil {
		t.Error("no error with Redis stopped")
	}
}
