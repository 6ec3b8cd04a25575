package main

import (
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/figures"
)

// Redis is an optimisation: with it stopped (refused connections) or
// paused (a blackhole: connections accepted, nothing answered), viewer
// requests through the real server are still answered, and the circuit
// breaker keeps the added latency to a few requests' worth of RedisTimeout.
// The tenant is rate-limited as a paid one is (16 requests/s, burst 50), so
// a Redis outage that sent every read to Auth0 would turn into 429s and
// seconds of latency: the instance's own copies must answer instead, at
// most one Auth0 read per user per TTL. When Redis is back it is used
// again. The figure compares p99 latencies of N sequential requests per
// phase over 20 users; the assertions are generous, the machine is shared.
func TestRedisDownRequestsAreStillAnswered(t *testing.T) {
	emu, rs, env := testTenantWith(t, auth0emu.Config{RatePreset: "paid"})
	svc := runService(t, env)
	const users = 20
	_, emails := createUsers(t, emu, "redisdown", users)
	tokens := make([]string, users)
	for i, email := range emails {
		tokens[i] = passwordLogin(t, emu.URL(), email)
	}
	token := tokens[0]

	const n = 200
	var slowest time.Duration
	phase := func(name string) (p99 time.Duration, answered, reads int) {
		t.Helper()
		var took []time.Duration
		before := emu.Count(auth0emu.RouteGetUser)
		for i := range n {
			d, r, ok := timedViewer(svc.url, tokens[i%users])
			took = append(took, d)
			if ok {
				answered++
			} else if answered == 0 || len(took)-answered <= 3 {
				t.Logf("%s: request not answered: %s", name, r.Raw)
			}
		}
		reads = emu.Count(auth0emu.RouteGetUser) - before
		p99 = percentile(took, 99)
		if name != "redis up" {
			slowest = max(slowest, percentile(took, 100))
		}
		t.Logf("%s: %d/%d answered, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d Auth0 reads", name, answered, n,
			ms(percentile(took, 50)), ms(p99), ms(percentile(took, 100)), reads)
		return p99, answered, reads
	}
	// usedAgain waits until the breaker has closed again: Redis is used.
	// (Auth0 reads cannot tell: the instance's own copies answer without
	// Redis too.)
	usedAgain := func(what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			for range 5 {
				timedViewer(svc.url, token)
			}
			if svc.scrapeMetrics(t)["bff_cache_redis_breaker_state"] == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Redis not used again within 30s after %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	for _, tok := range tokens { // fills the cache
		if _, r, ok := timedViewer(svc.url, tok); !ok {
			t.Fatalf("first viewer request failed: %s", r.Raw)
		}
	}
	upP99, upAnswered, _ := phase("redis up")
	if upAnswered != n {
		t.Fatalf("with Redis up only %d/%d answered", upAnswered, n)
	}

	rs.Stop()
	stoppedP99, stoppedAnswered, stoppedReads := phase("redis stopped")
	rs.Restart()
	usedAgain("Restart")

	rs.Pause()
	resumed := false
	defer func() {
		if !resumed {
			rs.Resume()
		}
	}()
	blackholedP99, blackholedAnswered, blackholedReads := phase("redis blackholed")
	if state := svc.scrapeMetrics(t)["bff_cache_redis_breaker_state"]; state == 0 {
		t.Errorf("breaker state gauge is 0 (closed) while Redis is blackholed")
	}
	rs.Resume()
	resumed = true
	usedAgain("Resume")

	answered := stoppedAnswered + blackholedAnswered
	worst := max(stoppedP99, blackholedP99) - upP99
	figures.Report(t, "redis down, Auth0 at a paid tenant's 16 rps: %.0f%% answered, %+.0f ms p99 (stopped %+.0f ms, blackholed %+.0f ms, vs %.1f ms with Redis up; slowest %.0f ms while the breaker opened; %d requests over %d users each; Auth0 reads %d stopped, %d blackholed)",
		100*float64(answered)/float64(2*n), ms(worst), ms(stoppedP99-upP99), ms(blackholedP99-upP99), ms(upP99), ms(slowest), n, users, stoppedReads, blackholedReads)
	if answered != 2*n {
		t.Errorf("%d of %d requests with Redis down were not answered", 2*n-answered, 2*n)
	}
	// At most one Auth0 read per user per TTL per instance, whatever Redis does.
	if stoppedReads > users || blackholedReads > users {
		t.Errorf("Redis down cost %d (stopped) and %d (blackholed) Auth0 reads for %d users, want at most one each", stoppedReads, blackholedReads, users)
	}
	// Generous: a request that paid a RedisTimeout (or a 429) on every call
	// would push the p99 past 250 ms; a loaded machine alone should not reach 2 s.
	if worst > 2*time.Second {
		t.Errorf("p99 with Redis down is %.0f ms above Redis up", ms(worst))
	}
}
