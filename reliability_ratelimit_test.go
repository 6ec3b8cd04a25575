package main

import (
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/figures"
)

// Once the tenant is rate limited (a 429 with a reset 2 s ahead, seen by
// one instance), every instance sharing the Redis serves cached users stale
// and fails uncached ones at once with UPSTREAM_UNAVAILABLE, well under
// CACHE_UPSTREAM_WAIT (2 s), sending Auth0 no GET before the reset; after
// it, calls resume. Through two real servers, one emulator, one Redis.
func TestRateLimitedTenantIsNotCalledByAnyInstanceBeforeTheReset(t *testing.T) {
	emu, _, env := testTenant(t)
	const ttl = time.Second
	env["CACHE_TTL"] = ttl.String()
	first := runService(t, env)
	second := runService(t, env)

	_, cachedEmails := createUsers(t, emu, "cached", 2)
	_, uncachedEmails := createUsers(t, emu, "uncached", 3)
	var cached, uncached []string
	for _, email := range cachedEmails {
		token := passwordLogin(t, emu.URL(), email)
		if _, r, ok := timedViewer(second.url, token); !ok {
			t.Fatalf("filling the cache for %s: %s", email, r.Raw)
		}
		cached = append(cached, token)
	}
	for _, email := range uncachedEmails {
		uncached = append(uncached, passwordLogin(t, emu.URL(), email))
	}
	time.Sleep(ttl + 200*time.Millisecond) // every cached copy past its fresh period

	// The first instance meets the 429: its cached user is served stale.
	emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{RateLimited: true, RetryAfter: 2 * time.Second, Times: 1})
	limitedAt := time.Now()
	if _, r, ok := timedViewer(first.url, cached[0]); !ok || r.Extensions["stale"] == nil {
		t.Fatalf("cached user on the instance that met the 429: want stale data, got %s", r.Raw)
	}
	if n := emu.Count(auth0emu.RouteGetUser); n == 0 {
		t.Fatal("the 429 was never asked for")
	}
	emu.ResetCounters()

	// The second instance has seen no 429 itself.
	var slowest time.Duration
	for i, token := range uncached[:2] {
		took, r, ok := timedViewer(second.url, token)
		slowest = max(slowest, took)
		if ok || r.code(0) != "UPSTREAM_UNAVAILABLE" || path(r.Data, "viewer") != nil {
			t.Errorf("uncached user %d on the other instance: want UPSTREAM_UNAVAILABLE, got %s", i, r.Raw)
		}
	}
	if _, r, ok := timedViewer(second.url, cached[1]); !ok || r.Extensions["stale"] == nil {
		t.Errorf("cached user on the other instance: want stale data, got %s", r.Raw)
	}
	before := emu.Count(auth0emu.RouteGetUser)
	stillLimited := time.Since(limitedAt) < 2*time.Second
	figures.Report(t, "rate limited: uncached failed in ≤ %.0f ms on the other instance, %d GETs before the reset", ms(slowest), before)
	if !stillLimited {
		t.Fatalf("the checks took past the reset (%v); the machine is too slow for this test", time.Since(limitedAt))
	}
	if before != 0 {
		t.Errorf("the emulator saw %d GETs before the reset, want 0", before)
	}
	if slowest >= 200*time.Millisecond {
		t.Errorf("an uncached user waited %.0f ms for UPSTREAM_UNAVAILABLE, want < 200 ms (CACHE_UPSTREAM_WAIT is 2 s)", ms(slowest))
	}

	// After the reset. X-RateLimit-Reset is whole seconds, rounded up, of
	// the emulator's time at the 429, which may fall in the second after
	// limitedAt on a loaded machine: the reset is at the latest the second
	// after next.
	time.Sleep(time.Until(limitedAt.Add(2 * time.Second).Truncate(time.Second).Add(2*time.Second + 100*time.Millisecond)))
	if _, r, ok := timedViewer(second.url, uncached[2]); !ok {
		t.Errorf("after the reset: %s", r.Raw)
	}
	if n := emu.Count(auth0emu.RouteGetUser); n == 0 {
		t.Errorf("after the reset no GET reached the emulator")
	}
}
