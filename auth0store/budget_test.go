package auth0store

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/redistest"
	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/ratelimit"
)

// wantRateLimited checks a call refused without being sent.
func wantRateLimited(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrRateLimited) || !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("err %v, want ErrRateLimited and ErrUpstreamUnavailable", err)
	}
	if !e.ChangeNotApplied() || !strings.Contains(err.Error(), "rate limited until ") {
		t.Errorf("err %q: ChangeNotApplied %v, want true and a message naming the reset", err, e.ChangeNotApplied())
	}
	return e
}

// After a 429 the Store makes no call before the reset Auth0 announced,
// reads and writes alike, and calls again after it.
func TestRateLimitStopsCallsUntilTheReset(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	ctx := context.Background()
	emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{RateLimited: true, RetryAfter: 2 * time.Second, Times: 1})
	if _, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{}); err == nil {
		t.Fatal("the injected 429 did not fail the call")
	}
	start := time.Now()
	_, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{})
	took := time.Since(start)
	wantRateLimited(t, err)
	_, err = s.UpdateUser(ctx, auth0emu.SeedNewUserID, profiling.Patch{UserMetadata: map[string]any{"a": "b"}})
	wantRateLimited(t, err)
	if get, patch := emu.Count(auth0emu.RouteGetUser), emu.Count(auth0emu.RoutePatchUser); get != 1 || patch != 0 {
		t.Errorf("before the reset the emulator saw %d GETs and %d PATCHes, want 1 and 0", get, patch)
	}
	if took > 50*time.Millisecond {
		t.Errorf("refusing took %v, want at once", took)
	}
	time.Sleep(time.Until(start.Add(2 * time.Second).Truncate(time.Second).Add(time.Second)))
	if _, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
	t.Logf("429 then %v to refuse; GETs before the reset 1, after 1 more", took)
}

// With a tiny tenant limit and one Redis shared by two Stores, once one
// sees a 429 the other sends nothing before the reset, then resumes.
func TestSharedBudgetStopsEveryInstanceUntilTheReset(t *testing.T) {
	emu, err := auth0emu.Listen("127.0.0.1:0", auth0emu.Config{RateLimit: 1, RateBurst: 1, SigningKey: sharedKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	if err := emu.Seed(); err != nil {
		t.Fatal(err)
	}
	rs := redistest.Start(t)
	budget := func() Budget {
		c := redis.NewClient(&redis.Options{Addr: rs.Addr()})
		t.Cleanup(func() { c.Close() })
		return ratelimit.NewRedis(c, ratelimit.RedisOptions{})
	}
	a := newStore(t, emu, Config{Budget: budget()})
	b := newStore(t, emu, Config{Budget: budget()})
	ctx := context.Background()

	if _, _, err := a.User(ctx, auth0emu.SeedNewUserID, profiling.Read{}); err != nil { // the burst's one token
		t.Fatal(err)
	}
	_, _, err = a.User(ctx, auth0emu.SeedNewUserID, profiling.Read{})
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusTooManyRequests {
		t.Fatalf("second call within the burst: %v, want the tenant's 429", err)
	}
	limited := emu.Count(auth0emu.RouteGetUser)

	var refused int
	var slowest time.Duration
	for {
		start := time.Now()
		_, _, err := b.User(ctx, auth0emu.SeedReturningUserID, profiling.Read{})
		slowest = max(slowest, time.Since(start))
		if err == nil {
			break
		}
		e := wantRateLimited(t, err)
		refused++
		if n := emu.Count(auth0emu.RouteGetUser); n != limited {
			t.Fatalf("before the reset (%v) the emulator saw %d GETs, want %d", e.limitedUntil, n, limited)
		}
		if refused > 100 {
			t.Fatal("still refused after 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := emu.Count(auth0emu.RouteGetUser); n != limited+1 {
		t.Errorf("after the reset: %d GETs, want %d", n, limited+1)
	}
	if refused == 0 || slowest > time.Second {
		t.Errorf("the other store was refused %d times, slowest %v", refused, slowest)
	}
	t.Logf("other store: %d calls refused before the reset (slowest %v), 0 GETs sent; 1 GET after it", refused, slowest)
}

// A Budget whose Redis is down breaks no call, and a 429 still stops this
// Store's calls until the reset (its memo holds the deadline).
func TestBudgetWithRedisDownKeepsWorking(t *testing.T) {
	emu := emulator(t)
	rs := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	s := newStore(t, emu, Config{Budget: ratelimit.NewRedis(c, ratelimit.RedisOptions{Refresh: time.Millisecond})})
	rs.Stop()
	ctx := context.Background()
	if _, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
		t.Fatalf("with Redis down: %v", err)
	}
	emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{RateLimited: true, RetryAfter: 2 * time.Second, Times: 1})
	_, _, _ = s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{})
	_, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{})
	wantRateLimited(t, err)
	if n := emu.Count(auth0emu.RouteGetUser); n != 2 {
		t.Errorf("%d GETs, want 2", n)
	}
}

func TestResetAt(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, c := range []struct {
		reset, retryAfter string
		want              time.Duration
	}{
		{"1003", "", 3 * time.Second},
		{"", "2", 2 * time.Second},
		{"999", "", time.Second}, // a reset already past: the default
		{"", "", time.Second},
		{"garbage", "soon", time.Second},
		{"99999999", "", 5 * time.Minute},
	} {
		h := http.Header{}
		if c.reset != "" {
			h.Set("X-RateLimit-Reset", c.reset)
		}
		if c.retryAfter != "" {
			h.Set("Retry-After", c.retryAfter)
		}
		if got := resetAt(h, now).Sub(now); got != c.want {
			t.Errorf("reset %q retry-after %q: %v, want %v", c.reset, c.retryAfter, got, c.want)
		}
	}
}
