package cache_test

import (
	"context"
	"testing"

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
