package cache_test

import (
	"context"
	"testing"

	"github.com/progressive-profiling/bff/internal/testkit"

	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/profiling"
)

func TestRedisStoppedReadsFallThroughThenCacheIsUsedAgain(t *testing.T) {
	t.Parallel()
	// Refused connections fail at once whatever the timeouts, so this test
	// can keep the generous ones that make its call counts exact.
	e := newEnv(t)
	want := sampleUser("auth0|redis-down")
	store := testkit.NewUsers(want)
	c := e.newCache(store, cache.Config{})
	mustUser(t, c, want.ID)

	e.redis.Stop()
	for i := range 5 {
		// This instance's own copy answers while Redis cannot.
		sameJSON(t, mustUser(t, c, want.ID), want)
		if n := store.Reads(); n != 1 {
			t.Fatalf("read %d with Redis down: %d upstream calls in all, want 1 (the first fill)", i, n)
		}
	}
	updated, err := c.UpdateUser(context.Background(), want.ID, profiling.Patch{UserMetadata: map[string]any{"title": "CFO"}})
	if err != nil {
		t.Fatalf("UpdateUser with Redis down: %v", err)
	}
	if updated.UserMetadata["title"] != "CFO" {
		t.Fatalf("UpdateUser with Redis down returned %v", updated.UserMetadata)
	}
	if err := c.Invalidate(context.Background(), want.ID); err == nil {
		t.Fatal("Invalidate with Redis down reported success")
	}
	logs := e.logs.String()
	if !contains(logs, "redis read failed") || !contains(logs, "circuit breaker open") {
		t.Fatalf("Redis failures were not logged; log:\n%s", logs)
	}

	e.redis.Restart()
	// The client notices the restart on its own schedule (broken pooled
	// connections, go-redis's dial back-off); once a read refills the
	// entry, reads are hits again.
	testkit.Eventually(t, "a read to refill Redis after Restart", func() bool {
		mustUser(t, c, want.ID)
		n, err := e.rdb.Exists(context.Background(), c.Key(want.ID)).Result()
		return err == nil && n == 1
	})
	before := store.Reads()
	for range 5 {
		if u := mustUser(t, c, want.ID); u.UserMetadata["title"] != "CFO" {
			t.Fatalf("read after Restart = %v, want the updated user", u.UserMetadata)
		}
	}
	if n := store.Reads() - before; n != 0 {
		t.Fatalf("reads after Redis came back made %d upstream calls, want 0", n)
	}
}

func TestRedisPausedReadsAreStillAnswered(t *testing.T) {
	t.Parallel()
	e := newProductionEnv(t)
	want := sampleUser("auth0|redis-blackholed")
	store := testkit.NewUsers(want)
	c := e.newCache(store, cache.Config{})
	mustUser(t, c, want.ID)

	e.redis.Pause()
	resumed := false
	defer func() {
		if !resumed {
			e.redis.Resume()
		}
	}()
	// A request with a long deadline: only the cache's own Redis bound
	// stops a frozen Redis from holding it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*60e9)
	defer cancel()
	u, _, err := c.User(ctx, want.ID, profiling.Read{})
	if err != nil {
		t.Fatalf("User with Redis frozen: %v", err)
	}
	sameJSON(t, u, want)
	if n := store.Reads(); n != 1 {
		t.Fatalf("read with Redis frozen made %d upstream calls in all, want 1 (the first fill)", n)
	}

	e.redis.Resume()
	resumed = true
	testkit.Eventually(t, "reads to be hits again after Resume", func() bool {
		before := store.Reads()
		mustUser(t, c, want.ID)
		return store.Reads() == before
	})
}
