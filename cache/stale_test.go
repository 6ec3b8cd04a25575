package cache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/internal/testkit"
	"github.com/progressive-profiling/bff/profiling"
)

var errOutage = fmt.Errorf("fake store: 503: %w", profiling.ErrUpstreamUnavailable)

// pastFreshness waits until entries written with cfg's TTL are no longer
// fresh. Waiting is not asserting: the test checks behaviour, not time.
func pastFreshness(ttl time.Duration) { time.Sleep(2 * ttl) }

func TestUpstreamDownServesStaleCopyFlaggedAndCounted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	want := sampleUser("auth0|stale")
	store := testkit.NewUsers(want)
	const ttl = 50 * time.Millisecond
	c := e.newCache(store, cache.Config{TTL: ttl, MaxStale: time.Hour, Metrics: reg})
	mustUser(t, c, want.ID)
	pastFreshness(ttl)
	store.FailReads(errOutage)

	// A caller that cannot flag it (the write path): not served.
	if _, _, err := c.User(context.Background(), want.ID, profiling.Read{}); !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("read without AllowStale: %v, want ErrUpstreamUnavailable", err)
	}
	u, info, err := c.User(context.Background(), want.ID, allowStale)
	if err != nil {
		t.Fatalf("read with upstream down and a stale copy: %v", err)
	}
	sameJSON(t, u, want)
	if !info.Stale || info.Age < ttl {
		t.Fatalf("read info = %+v, want flagged stale with an age of at least %v", info, ttl)
	}
	if n := testkit.MetricValue(t, reg, "bff_cache_stale_served_total"); n != 1 {
		t.Fatalf("bff_cache_stale_served_total = %v, want 1", n)
	}

	// Upstream back: a fresh read, not flagged.
	store.FailReads(nil)
	u, info = mustRead(t, c, want.ID, allowStale)
	sameJSON(t, u, want)
	if info.Stale {
		t.Fatal("a read with upstream back was flagged stale")
	}
}

func TestUpstreamHangServesStaleAfterUpstreamWaitAndFailsUncachedUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cached, uncached := sampleUser("auth0|hang-cached"), sampleUser("auth0|hang-uncached")
	store := testkit.NewUsers(cached, uncached)
	const ttl = 50 * time.Millisecond
	c := e.newCache(store, cache.Config{TTL: ttl, UpstreamWait: 100 * time.Millisecond, FillTimeout: time.Minute})
	mustUser(t, c, cached.ID)
	pastFreshness(ttl)
	_, release := store.HoldReads()
	defer release()

	u, info := mustRead(t, c, cached.ID, allowStale)
	sameJSON(t, u, cached)
	if !info.Stale {
		t.Fatal("answer while upstream hangs was not flagged stale")
	}
	// No copy to fall back on: unavailable, although the hung read (whose
	// FillTimeout is a minute) is still going.
	_, _, err := c.User(context.Background(), uncached.ID, allowStale)
	if !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("uncached user while upstream hangs: %v, want ErrUpstreamUnavailable", err)
	}
	release()
	// The fills went on without their readers and refreshed the cache.
	testkit.Eventually(t, "the hung fill to refresh the cache", func() bool {
		u, info, err := c.User(context.Background(), uncached.ID, allowStale)
		return err == nil && u.ID == uncached.ID && !info.Stale
	})
}

// A copy older than the caller's token is refetched (the user may have
// logged in since); with upstream down, that copy beats an error.
func TestCopyOlderThanTheTokenIsServedStaleWhenUpstreamIsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|token-stale")
	store := testkit.NewUsers(want)
	c := e.newCache(store, cache.Config{})
	mustUser(t, c, want.ID)
	store.FailReads(errOutage)

	time.Sleep(2 * time.Millisecond) // stores keep milliseconds
	newer := profiling.ReadForToken(profiling.Token{IssuedAt: time.Now(), FirstSeen: time.Now(), Unique: true}, time.Now())
	u, info := mustRead(t, c, want.ID, newer)
	sameJSON(t, u, want)
	if !info.Stale {
		t.Fatal("a copy older than the token, served with upstream down, was not flagged")
	}
	if n := store.Reads(); n != 2 {
		t.Fatalf("upstream reads = %d, want 2 (the fill, then the refetch that failed)", n)
	}
}

func TestStaleCopiesHaveAHardLimit(t *testing.T) {
	t.Parallel()
	const ttl = 50 * time.Millisecond
	for name, maxStale := range map[string]time.Duration{"past MaxStale": 50 * time.Millisecond, "MaxStale off": -1} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			want := sampleUser("auth0|too-stale")
			store := testkit.NewUsers(want)
			c := e.newCache(store, cache.Config{TTL: ttl, MaxStale: maxStale})
			mustUser(t, c, want.ID)
			pastFreshness(ttl + max(maxStale, 0))
			store.FailReads(errOutage)
			if _, _, err := c.User(context.Background(), want.ID, allowStale); !errors.Is(err, profiling.ErrUpstreamUnavailable) {
				t.Fatalf("read with only a copy beyond the limit: %v, want ErrUpstreamUnavailable", err)
			}
		})
	}
}

// A user upstream reports missing is gone, not unavailable: no stale copy.
func TestDeletedUserIsNotServedStale(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|deleted")
	store := testkit.NewUsers(want)
	const ttl = 50 * time.Millisecond
	c := e.newCache(store, cache.Config{TTL: ttl})
	mustUser(t, c, want.ID)
	pastFreshness(ttl)
	store.Delete(want.ID)
	if _, _, err := c.User(context.Background(), want.ID, allowStale); !errors.Is(err, profiling.ErrUserNotFound) {
		t.Fatalf("read of a deleted user: %v, want ErrUserNotFound", err)
	}
}

func TestMissingUsersAreRememberedBrieflyAndClearedOnWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := testkit.NewUsers()
	id := "auth0|not-yet"
	c := e.newCache(store, cache.Config{NegativeTTL: time.Hour})

	for range 3 {
		if _, _, err := c.User(context.Background(), id, profiling.Read{}); !errors.Is(err, profiling.ErrUserNotFound) {
			t.Fatalf("missing user: %v, want ErrUserNotFound", err)
		}
	}
	if n := store.Reads(); n != 1 {
		t.Fatalf("3 reads of a missing user made %d upstream calls, want 1", n)
	}
	// A token issued after the user was found missing means it exists now.
	time.Sleep(2 * time.Millisecond) // stores keep milliseconds
	fresher := profiling.ReadForToken(profiling.Token{IssuedAt: time.Now(), FirstSeen: time.Now(), Unique: true}, time.Now())
	c.User(context.Background(), id, fresher)
	if n := store.Reads(); n != 2 {
		t.Fatalf("a token newer than the negative entry made %d upstream calls in all, want 2", n)
	}

	// The user appears and is written: the write replaces the negative entry.
	store.Set(sampleUser(id))
	if _, err := c.UpdateUser(context.Background(), id, profiling.Patch{UserMetadata: map[string]any{"title": "CTO"}}); err != nil {
		t.Fatal(err)
	}
	if u := mustUser(t, c, id); u.UserMetadata["title"] != "CTO" {
		t.Fatalf("read after the write = %v", u.UserMetadata)
	}
	if n := store.Reads(); n != 2 {
		t.Fatalf("read after the write made an upstream call: the negative entry was not replaced")
	}
}

func TestMissingUsersAreForgottenAfterNegativeTTL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := testkit.NewUsers()
	const negativeTTL = 50 * time.Millisecond
	c := e.newCache(store, cache.Config{NegativeTTL: negativeTTL})
	id := "auth0|later"
	c.User(context.Background(), id, profiling.Read{})
	pastFreshness(negativeTTL)
	store.Set(sampleUser(id))
	if u := mustUser(t, c, id); u.ID != id {
		t.Fatalf("read after NegativeTTL = %q", u.ID)
	}
	if n := store.Reads(); n != 2 {
		t.Fatalf("upstream reads = %d, want 2", n)
	}
}

// notApplied is a store error that knows the change did not land (as
// auth0store's errors for 4xx/429/503 answers do).
type notApplied struct{ error }

func (notApplied) ChangeNotApplied() bool { return true }
func (e notApplied) Unwrap() error        { return e.error }

func TestFailedUpdateDropsTheEntryUnlessNothingChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|failed-write")
	store := testkit.NewUsers(want)
	c := e.newCache(store, cache.Config{})
	mustUser(t, c, want.ID)
	patch := profiling.Patch{UserMetadata: map[string]any{"title": "CTO"}}

	store.FailUpdates(notApplied{fmt.Errorf("fake store: 429: %w", profiling.ErrUpstreamUnavailable)})
	if _, err := c.UpdateUser(context.Background(), want.ID, patch); !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("UpdateUser: %v", err)
	}
	if e.cached(t, c.Key(want.ID)) == "" {
		t.Fatal("an update that certainly changed nothing dropped the entry")
	}

	store.FailUpdates(fmt.Errorf("fake store: no answer in time: %w", profiling.ErrUpstreamUnavailable))
	if _, err := c.UpdateUser(context.Background(), want.ID, patch); !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("UpdateUser: %v", err)
	}
	if raw := e.cached(t, c.Key(want.ID)); raw != "" {
		t.Fatalf("an update that may have landed left the old entry: %s", raw)
	}
}

// allowStale is a reader that can flag a stale answer, as the GraphQL
// layer does.
var allowStale = profiling.Read{AllowStale: true}

func mustRead(t testing.TB, c *cache.Cache, id string, r profiling.Read) (*profiling.User, profiling.ReadInfo) {
	t.Helper()
	u, info, err := c.User(context.Background(), id, r)
	if err != nil {
		t.Fatalf("User(%q, %+v): %v", id, r, err)
	}
	return u, info
}
