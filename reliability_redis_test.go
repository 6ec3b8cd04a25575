package main

import (
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/figures"
)

// Redis is an optimisation: with it stopped (refused connections) or
// paused (a blackhole: connections accepted, nothing answered), viewer
// requests through the real server are still answered, from Auth0, and the
// circuit breaker keeps the added latency to a few requests' worth of
// RedisTimeout. When Redis is back it is used again. The figure compares
// p99 latencies of N sequential requests per phase; the assertions are
// generous, the machine is shared.
func TestRedisDownRequestsAreStillAnswered(t *testing.T) {
	emu, rs, env := testTenant(t)
	svc := runService(t, env)
	token := passwordLogin(t, emu.URL(), "new@example.com")

	const n = 200
	var slowest time.Duration
	phase := func(name string) (p99 time.Duration, answered int) {
		t.Helper()
		var took []time.Duration
		for range n {
			d, r, ok := timedViewer(svc.url, token)
			took = append(took, d)
			if ok {
				answered++
			} else if answered == 0 || len(took)-answered <= 3 {
				t.Logf("%s: request not answered: %s", name, r.Raw)
			}
		}
		p99 = percentile(took, 99)
		if name != "redis up" {
			slowest = max(slowest, percentile(took, 100))
		}
		t.Logf("%s: %d/%d answered, p50 %.1f ms, p99 %.1f ms, max %.1f ms", name, answered, n,
			ms(percentile(took, 50)), ms(p99), ms(percentile(took, 100)))
		return p99, answered
	}
	// usedAgain waits until a run of requests costs no Auth0 read: they
	// are cache hits again.
	usedAgain := func(what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			before := emu.Count(auth0emu.RouteGetUser)
			for range 5 {
				timedViewer(svc.url, token)
			}
			if emu.Count(auth0emu.RouteGetUser) == before {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Redis not used again within 30s after %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	if _, _, ok := timedViewer(svc.url, token); !ok { // fills the cache
		t.Fatal("first viewer request failed")
	}
	upP99, upAnswered := phase("redis up")
	if upAnswered != n {
		t.Fatalf("with Redis up only %d/%d answered", upAnswered, n)
	}

	rs.Stop()
	stoppedP99, stoppedAnswered := phase("redis stopped")
	rs.Restart()
	usedAgain("Restart")

	rs.Pause()
	resumed := false
	defer func() {
		if !resumed {
			rs.Resume()
		}
	}()
	blackholedP99, blackholedAnswered := phase("redis blackholed")
	if state := svc.scrapeMetrics(t)["bff_cache_redis_breaker_state"]; state == 0 {
		t.Errorf("breaker state gauge is 0 (closed) while Redis is blackholed")
	}
	rs.Resume()
	resumed = true
	usedAgain("Resume")

	answered := stoppedAnswered + blackholedAnswered
	worst := max(stoppedP99, blackholedP99) - upP99
	figures.Report(t, "redis down: %.0f%% answered, %+.0f ms p99 (stopped %+.0f ms, blackholed %+.0f ms, vs %.1f ms with Redis up; slowest %.0f ms while the breaker opened; %d requests each)",
		100*float64(answered)/float64(2*n), ms(worst), ms(stoppedP99-upP99), ms(blackholedP99-upP99), ms(upP99), ms(slowest), n)
	if answered != 2*n {
		t.Errorf("%d of %d requests with Redis down were not answered", 2*n-answered, 2*n)
	}
	// Generous: a request that paid a RedisTimeout on every call would
	// push the p99 past 250 ms; a loaded machine alone should not reach 2 s.
	if worst > 2*time.Second {
		t.Errorf("p99 with Redis down is %.0f ms above Redis up", ms(worst))
	}
}
