package cache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/auth0store"
	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/figures"
	"github.com/progressive-profiling/bff/internal/testkit"
	"github.com/progressive-profiling/bff/profiling"
)

// The race a compare-on-updated_at store closes: a fill reads the user
// upstream, a write lands and is stored, then the fill's older copy arrives.
// The emulator makes it deterministic: the GET reads the store and signals
// Processed, the test writes through the cache, then releases the GET.
// Real go-auth0 over HTTP, real redis-server.
func TestFillNeverReplacesANewerWrite(t *testing.T) {
	t.Parallel()
	emu, err := auth0emu.Listen("127.0.0.1:0", auth0emu.Config{RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	if err := emu.Seed(); err != nil {
		t.Fatal(err)
	}
	// No retries and a long deadline: a retried GET would read the new
	// user and hide the race instead of testing it.
	store, err := auth0store.New(context.Background(), auth0store.Config{
		Domain: emu.URL(), ClientID: emu.Config().ClientID, ClientSecret: emu.Config().ClientSecret,
		MaxRetries: -1, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	c := e.newCache(store, cache.Config{UpstreamWait: time.Minute, FillTimeout: time.Minute})
	id := auth0emu.SeedNewUserID
	ctx := context.Background()

	const trials = 30
	stale := 0
	for i := range trials {
		if err := c.Invalidate(ctx, id); err != nil {
			t.Fatal(err)
		}
		processed, hold := make(chan struct{}), make(chan struct{})
		emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{Processed: processed, Hold: hold, Times: 1})
		filled := make(chan error, 1)
		go func() {
			_, _, err := c.User(ctx, id, profiling.Read{}) // its answer predates the write, which is fine for it
			filled <- err
		}()
		<-processed // the GET has read the user as it was

		want := fmt.Sprintf("trial-%d", i)
		if _, err := c.UpdateUser(ctx, id, profiling.Patch{UserMetadata: map[string]any{"race": want}}); err != nil {
			close(hold)
			t.Fatalf("trial %d: UpdateUser: %v", i, err)
		}
		close(hold) // the old copy arrives after the write's entry
		if err := <-filled; err != nil {
			t.Fatalf("trial %d: the racing read failed: %v", i, err)
		}

		// The cache must hold the write, or nothing.
		if raw := e.cached(t, c.Key(id)); raw != "" {
			var got struct {
				User profiling.User `json:"user"`
			}
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatal(err)
			}
			if got.User.UserMetadata["race"] != want {
				stale++
				t.Errorf("trial %d: the cache holds race=%v after the write of %q", i, got.User.UserMetadata["race"], want)
			}
		}
		if u := mustUser(t, c, id); u.UserMetadata["race"] != want {
			t.Errorf("trial %d: a read after the write returned race=%v, want %q", i, u.UserMetadata["race"], want)
		}
	}
	figures.Report(t, "stale-set race: %d trials, %d stale", trials, stale)
}

// A fill whose reader found no entry stores with SET NX; an entry that
// appeared meanwhile is then judged by the store script as any other: an
// older copy or garbage is replaced (a newer one is kept, see
// TestFillNeverReplacesANewerWrite).
func TestFillReplacesAnOlderEntryThatAppearedMeanwhile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|appeared")
	store := testkit.NewUsers(want)
	c := e.newCache(store, cache.Config{})
	ctx := context.Background()
	for name, held := range map[string]string{
		"garbage": "not an entry",
		"older":   `{"updated_ms":1,"fetched_ms":1,"fresh_ms":1,"user":{"user_id":"auth0|appeared","email":"old@example.com"}}`,
	} {
		if err := c.Invalidate(ctx, want.ID); err != nil {
			t.Fatal(err)
		}
		entered, release := store.HoldReads()
		done := make(chan error, 1)
		go func() {
			_, _, err := c.User(ctx, want.ID, profiling.Read{})
			done <- err
		}()
		<-entered // the miss is seen, the fill upstream
		if err := e.rdb.Set(ctx, c.Key(want.ID), held, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		var got struct {
			Version int64          `json:"updated_ms"`
			User    profiling.User `json:"user"`
		}
		if err := json.Unmarshal([]byte(e.cached(t, c.Key(want.ID))), &got); err != nil {
			t.Fatalf("%s: Redis holds no entry after the fill: %v", name, err)
		}
		if got.Version != want.UpdatedAt.UnixMilli() || got.User.Email != want.Email {
			t.Fatalf("%s: Redis holds version %d (%s) after the fill, want the fill's %d", name, got.Version, got.User.Email, want.UpdatedAt.UnixMilli())
		}
	}
}
