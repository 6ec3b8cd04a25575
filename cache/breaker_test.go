package cache_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/internal/testkit"
	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/redisconn"
)

const breakerGauge = "bff_cache_redis_breaker_state"

func TestBreakerSkipsABlackholedRedisThenUsesItAgain(t *testing.T) {
	t.Parallel()
	e := newProductionEnv(t) // the short production timeouts are under test
	reg := prometheus.NewRegistry()
	want := sampleUser("auth0|breaker")
	store := testkit.NewUsers(want)
	c := e.newCache(store, cache.Config{Metrics: reg})
	cmds := countCommands(e.rdb)
	mustUser(t, c, want.ID)
	if g := testkit.MetricValue(t, reg, breakerGauge); g != 0 {
		t.Fatalf("breaker state %v with Redis healthy, want 0 (closed)", g)
	}

	e.redis.Pause()
	resumed := false
	defer func() {
		if !resumed {
			e.redis.Resume()
		}
	}()
	getsBefore := cmds.count("get")
	const reads = 20
	for range reads {
		sameJSON(t, mustUser(t, c, want.ID), want)
	}
	// Each miss costs a GET and a write until DefaultBreakerThreshold
	// consecutive failures open the breaker; then Redis is not asked.
	if n := cmds.count("get") - getsBefore; n > redisconn.DefaultBreakerThreshold {
		t.Fatalf("%d reads with Redis frozen sent %d GETs; the breaker should stop them after %d failures",
			reads, n, redisconn.DefaultBreakerThreshold)
	}
	// The instance's own copy answers while Redis cannot: an outage costs
	// upstream no read for a user read within its TTL.
	if n := store.Reads(); n != 1 {
		t.Fatalf("upstream reads = %d, want 1: %d reads with Redis frozen went upstream", n, n-1)
	}
	if g := testkit.MetricValue(t, reg, breakerGauge); g == 0 {
		t.Fatal("breaker state gauge says closed while Redis is skipped")
	}
	// Changes still go through, and the user is not served the copy Redis
	// held from before the change.
	updated, err := c.UpdateUser(context.Background(), want.ID, profiling.Patch{UserMetadata: map[string]any{"title": "CFO"}})
	if err != nil || updated.UserMetadata["title"] != "CFO" {
		t.Fatalf("UpdateUser with Redis frozen: %v, %v", updated, err)
	}

	e.redis.Resume()
	resumed = true
	testkit.Eventually(t, "a background probe to close the breaker", func() bool {
		c.User(context.Background(), want.ID, profiling.Read{}) // traffic triggers the probe
		return testkit.MetricValue(t, reg, breakerGauge) == 0
	})
	// The entry from before the change was deleted before Redis was used
	// again: this read refills it from upstream with the change...
	if u := mustUser(t, c, want.ID); u.UserMetadata["title"] != "CFO" {
		t.Fatalf("read after recovery = %v, want the change made while Redis was skipped", u.UserMetadata)
	}
	// ...and another instance sharing the Redis sees the change too.
	other := e.newCache(store, cache.Config{})
	if u := mustUser(t, other, want.ID); u.UserMetadata["title"] != "CFO" {
		t.Fatalf("another instance read %v from Redis, want the change", u.UserMetadata)
	}
	before := store.Reads()
	mustUser(t, c, want.ID)
	if n := store.Reads() - before; n != 0 {
		t.Fatalf("read after recovery made %d upstream calls, want 0: Redis is used again", n)
	}
}

// Redis answering with an error (here WRONGTYPE) is alive: that must not
// open the breaker, or one bad key would switch the cache off.
func TestBreakerIgnoresRedisErrorReplies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	want := sampleUser("auth0|wrongtype")
	store := testkit.NewUsers(want)
	c := e.newCache(store, cache.Config{Metrics: reg})
	if err := e.rdb.HSet(context.Background(), c.Key(want.ID), "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	cmds := countCommands(e.rdb)
	const reads = 2 * redisconn.DefaultBreakerThreshold
	for range reads {
		sameJSON(t, mustUser(t, c, want.ID), want)
	}
	if n := cmds.count("get"); n < reads {
		t.Fatalf("%d reads sent %d GETs: error replies opened the breaker", reads, n)
	}
	if g := testkit.MetricValue(t, reg, breakerGauge); g != 0 {
		t.Fatalf("breaker state %v after error replies, want 0", g)
	}
}
