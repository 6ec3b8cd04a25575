package cache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/testkit"

	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/profiling"
)

// BenchmarkUserHit measures a cache hit against a real redis-server on
// loopback: one GET plus decoding a full user into a fresh copy. "serial" is
// one request's latency; "parallel" is throughput with GOMAXPROCS callers.
func BenchmarkUserHit(b *testing.B) {
	e := newProductionEnv(b)
	want := sampleUser("auth0|bench")
	store := testkit.NewUsers(want)
	c := e.newCache(store, cache.Config{})
	mustUser(b, c, want.ID)
	ctx := context.Background()

	// On a loaded machine an occasional Redis read outlives its timeout and
	// falls through to upstream, as designed; report how often rather than
	// fail, so a number that is not a pure hit path is visible.
	reportMisses := func(b *testing.B, before int64) {
		b.ReportMetric(float64(store.Reads()-before)/float64(b.N), "upstream/op")
	}

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		before := store.Reads()
		for b.Loop() {
			if _, _, err := c.User(ctx, want.ID, profiling.Read{}); err != nil {
				b.Fatal(err)
			}
		}
		reportMisses(b, before)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		before := store.Reads()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := c.User(ctx, want.ID, profiling.Read{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportMisses(b, before)
	})
}

// BenchmarkUserRedisDown measures what a read costs when Redis fails and
// every read falls through to a (free, in-memory) upstream: the added
// latency a dead or blackholed Redis puts on each request before a circuit
// breaker exists.
func BenchmarkUserRedisDown(b *testing.B) {
	for _, fault := range []string{"stopped", "paused"} {
		b.Run(fault, func(b *testing.B) {
			e := newProductionEnv(b)
			want := sampleUser("auth0|bench-down")
			store := testkit.NewUsers(want)
			c := e.newCache(store, cache.Config{})
			ctx := context.Background()
			if fault == "stopped" {
				e.redis.Stop()
			} else {
				e.redis.Pause()
				defer e.redis.Resume()
			}
			for b.Loop() {
				if _, _, err := c.User(ctx, want.ID, profiling.Read{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUserMiss is a cold read against a real redis-server: the entry
// has expired (TTL 1ms, nothing kept stale), so the read misses, fills from
// a free in-memory upstream and stores the user: the cache's own share of
// a cold request. upstream/op says it was a miss each time.
func BenchmarkUserMiss(b *testing.B) {
	e := newProductionEnv(b)
	const users = 256
	ids := make([]string, users)
	store := testkit.NewUsers()
	for i := range ids {
		ids[i] = fmt.Sprintf("auth0|miss-%d", i)
		store.Set(sampleUser(ids[i]))
	}
	c := e.newCache(store, cache.Config{TTL: time.Millisecond, MaxStale: -1})
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, _, err := c.User(ctx, ids[n%users], profiling.Read{}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(store.Reads())/float64(n), "upstream/op")
}
