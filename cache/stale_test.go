package cache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/progressive-profiling/bff/cache"
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
	store := newFakeStore(want)
	const ttl = 50 * time.Millisecond
	c := e.newCache(store, cache.Config{TTL: ttl, MaxStale: time.Hour, Metrics: reg})
	mustUser(t, c, want.ID)
	pastFreshness(ttl)
	store.failReads(errOutage)

	// Nobody to flag it: the stale copy is not served.
	if _, err := c.User(context.Background(), want.ID); !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("read without a stale note: %v, want ErrUpstreamUnavailable", err)
	}
	ctx, note := profiling.WithStaleNote(context.Background())
	u, err := c.User(ctx, want.ID)
	if err != nil {
		t.Fatalf("read with upstream down and a stale copy: %v", err)
	}
	sameJSON(t, u, want)
	if age, stale := note.Stale(); !stale || age < ttl {
		t.Fatalf("stale note = (%v, %v), want flagged with an age of at least %v", age, stale, ttl)
	}
	if n := metricValue(t, reg, "bff_cache_stale_served_total"); n != 1 {
		t.Fatalf("bff_cache_stale_served_total = %v, want 1", n)
	}

	// Upstream back: a fresh read, not flagged.
	store.failReads(nil)
	ctx, note = profiling.WithStaleNote(context.Background())
	sameJSON(t, mustUserCtx(t, c, ctx, want.ID), want)
	if _, stale := note.Stale(); stale {
		t.Fatal("a read with upstream back was flagged stale")
	}
}

func TestUpstreamHangServesStaleAfterUpstreamWaitAndFailsUncachedUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cached, uncached := sampleUser("auth0|hang-cached"), sampleUser("auth0|hang-uncached")
	store := newFakeStore(cached, uncached)
	const ttl = 50 * time.Millisecond
	c := e.newCache(store, cache.Config{TTL: ttl, UpstreamWait: 100 * time.Millisecond, FillTimeout: time.Minute})
	mustUser(t, c, cached.ID)
	pastFreshness(ttl)
	_, release := store.holdReads()
	defer release()

	ctx, note := profiling.WithStaleNote(context.Background())
	sameJSON(t, mustUserCtx(t, c, ctx, cached.ID), cached)
	if _, stale := note.Stale(); !stale {
		t.Fatal("answer while upstream hangs was not flagged stale")
	}
	// No copy to fall back on: unavailable, although the hung read (whose
	// FillTimeout is a minute) is still going.
	_, err := c.User(ctx, uncached.ID)
	if !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("uncached user while upstream hangs: %v, want ErrUpstreamUnavailable", err)
	}
	release()
	// The fills went on without their readers and refreshed the cache.
	eventually(t, "the hung fill to refresh the cache", func() bool {
		ctx, note := profiling.WithStaleNote(context.Background())
		u, err := c.User(ctx, uncached.ID)
		_, stale := note.Stale()
		return err == nil && u.ID == uncached.ID && !stale
	})
}

// A copy older than the caller's token is refetched (the user may have
// logged in since); with upstream down, that copy beats an error.
func TestCopyOlderThanTheTokenIsServedStaleWhenUpstreamIsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|token-stale")
	store := newFakeStore(want)
	c := e.newCache(store, cache.Config{})
	mustUser(t, c, want.ID)
	store.failReads(errOutage)

	ctx := profiling.WithFreshAfter(context.Background(), time.Now().Add(2*time.Second))
	ctx, note := profiling.WithStaleNote(ctx)
	sameJSON(t, mustUserCtx(t, c, ctx, want.ID), want)
	if _, stale := note.Stale(); !stale {
		t.Fatal("a copy older than the token, served with upstream down, was not flagged")
	}
	if n := store.gets.Load(); n != 2 {
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
			store := newFakeStore(want)
			c := e.newCache(store, cache.Config{TTL: ttl, MaxStale: maxStale})
			mustUser(t, c, want.ID)
			pastFreshness(ttl + max(maxStale, 0))
			store.failReads(errOutage)
			ctx, note := profiling.WithStaleNote(context.Background())
			if _, err := c.User(ctx, want.ID); !errors.Is(err, profiling.ErrUpstreamUnavailable) {
				t.Fatalf("read with only a copy beyond the limit: %v, want ErrUpstreamUnavailable", err)
			}
			if _, stale := note.Stale(); stale {
				t.Fatal("flagged stale although nothing was served")
			}
		})
	}
}

// A user upstream reports missing is gone, not unavailable: no stale copy.
func TestDeletedUserIsNotServedStale(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|deleted")
	store := newFakeStore(want)
	const ttl = 50 * time.Millisecond
	c := e.newCache(store, cache.Config{TTL: ttl})
	mustUser(t, c, want.ID)
	pastFreshness(ttl)
	store.deleteUser(want.ID)
	ctx, note := profiling.WithStaleNote(context.Background())
	if _, err := c.User(ctx, want.ID); !errors.Is(err, profiling.ErrUserNotFound) {
		t.Fatalf("read of a deleted user: %v, want ErrUserNotFound", err)
	}
	if _, stale := note.Stale(); stale {
		t.Fatal("a deleted user was served from a stale copy")
	}
}

func TestMissingUsersAreRememberedBrieflyAndClearedOnWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := newFakeStore()
	id := "auth0|not-yet"
	c := e.newCache(store, cache.Config{NegativeTTL: time.Hour})

	for range 3 {
		if _, err := c.User(context.Background(), id); !errors.Is(err, profiling.ErrUserNotFound) {
			t.Fatalf("missing user: %v, want ErrUserNotFound", err)
		}
	}
	if n := store.gets.Load(); n != 1 {
		t.Fatalf("3 reads of a missing user made %d upstream calls, want 1", n)
	}
	// A token issued after the user was found missing means it exists now.
	fresher := profiling.WithFreshAfter(context.Background(), time.Now().Add(time.Second))
	c.User(fresher, id)
	if n := store.gets.Load(); n != 2 {
		t.Fatalf("a token newer than the negative entry made %d upstream calls in all, want 2", n)
	}

	// The user appears and is written: the write replaces the negative entry.
	store.setUser(sampleUser(id))
	if _, err := c.UpdateUser(context.Background(), id, profiling.Patch{UserMetadata: map[string]any{"title": "CTO"}}); err != nil {
		t.Fatal(err)
	}
	if u := mustUser(t, c, id); u.UserMetadata["title"] != "CTO" {
		t.Fatalf("read after the write = %v", u.UserMetadata)
	}
	if n := store.gets.Load(); n != 2 {
		t.Fatalf("read after the write made an upstream call: the negative entry was not replaced")
	}
}

func TestMissingUsersAreForgottenAfterNegativeTTL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := newFakeStore()
	const negativeTTL = 50 * time.Millisecond
	c := e.newCache(store, cache.Config{NegativeTTL: negativeTTL})
	id := "auth0|later"
	c.User(context.Background(), id)
	pastFreshness(negativeTTL)
	store.setUser(sampleUser(id))
	if u := mustUser(t, c, id); u.ID != id {
		t.Fatalf("read after NegativeTTL = %q", u.ID)
	}
	if n := store.gets.Load(); n != 2 {
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
	store := newFakeStore(want)
	c := e.newCache(store, cache.Config{})
	mustUser(t, c, want.ID)
	patch := profiling.Patch{UserMetadata: map[string]any{"title": "CTO"}}

	store.failUpdates(notApplied{fmt.Errorf("fake store: 429: %w", profiling.ErrUpstreamUnavailable)})
	if _, err := c.UpdateUser(context.Background(), want.ID, patch); !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("UpdateUser: %v", err)
	}
	if e.cached(t, c.Key(want.ID)) == "" {
		t.Fatal("an update that certainly changed nothing dropped the entry")
	}

	store.failUpdates(fmt.Errorf("fake store: no answer in time: %w", profiling.ErrUpstreamUnavailable))
	if _, err := c.UpdateUser(context.Background(), want.ID, patch); !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("UpdateUser: %v", err)
	}
	if raw := e.cached(t, c.Key(want.ID)); raw != "" {
		t.Fatalf("an update that may have landed left the old entry: %s", raw)
	}
}

func mustUserCtx(t testing.TB, c *cache.Cache, ctx context.Context, id string) *profiling.User {
	t.Helper()
	u, err := c.User(ctx, id)
	if err != nil {
		t.Fatalf("User(%q): %v", id, err)
	}
	return u
}
