package cache_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/testkit"

	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/redisconn"
)

func TestHitCostsNoUpstreamCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|hit")
	store := testkit.NewUsers(want)
	c := e.newCache(store, cache.Config{})

	sameJSON(t, mustUser(t, c, want.ID), want)
	if n := store.Reads(); n != 1 {
		t.Fatalf("cold read made %d upstream calls, want 1", n)
	}
	for range 10 {
		sameJSON(t, mustUser(t, c, want.ID), want)
	}
	if n := store.Reads(); n != 1 {
		t.Fatalf("10 warm reads made %d extra upstream calls, want 0", n-1)
	}
}

func TestConcurrentColdReadsMakeOneUpstreamCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|stampede")
	store := testkit.NewUsers(want)
	entered, release := store.HoldReads()
	c := e.newCache(store, cache.Config{})

	const readers = 200
	start := make(chan struct{})
	results := make([]*profiling.User, readers)
	errs := make([]error, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			<-start
			results[i], _, errs[i] = c.User(context.Background(), want.ID, profiling.Read{})
		})
	}
	close(start)
	<-entered // the one upstream call is under way; hold it while the rest pile up
	release()
	wg.Wait()

	if n := store.Reads(); n != 1 {
		t.Fatalf("%d concurrent cold reads made %d upstream calls, want 1", readers, n)
	}
	seen := map[*profiling.User]bool{}
	for i := range readers {
		if errs[i] != nil {
			t.Fatalf("reader %d: %v", i, errs[i])
		}
		sameJSON(t, results[i], want)
		if seen[results[i]] {
			t.Fatalf("reader %d got a *User another reader also got", i)
		}
		seen[results[i]] = true
	}
}

func TestCallerCancellingDoesNotFailTheOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|cancel")
	store := testkit.NewUsers(want)
	entered, release := store.HoldReads()
	c := e.newCache(store, cache.Config{})

	// The first caller leads the fill, then gives up.
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, _, err := c.User(leaderCtx, want.ID, profiling.Read{})
		leaderErr <- err
	}()
	upstreamCtx := <-entered

	// Others arrive while the leader's fill is in flight.
	const waiters = 20
	var wg sync.WaitGroup
	errs := make([]error, waiters)
	results := make([]*profiling.User, waiters)
	for i := range waiters {
		wg.Go(func() { results[i], _, errs[i] = c.User(context.Background(), want.ID, profiling.Read{}) })
	}

	cancelLeader()
	// The leader honours its own context without waiting for upstream,
	// which is still held.
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled leader got %v, want context.Canceled", err)
	}
	if err := upstreamCtx.Err(); err != nil {
		t.Fatalf("the upstream read was cancelled with its first caller: %v", err)
	}

	release()
	wg.Wait()
	for i := range waiters {
		if errs[i] != nil {
			t.Fatalf("waiter %d failed because the leader cancelled: %v", i, errs[i])
		}
		sameJSON(t, results[i], want)
	}
	if n := store.Reads(); n != 1 {
		t.Fatalf("made %d upstream calls, want 1", n)
	}
	if e.cached(t, c.Key(want.ID)) == "" {
		t.Fatal("the fill whose leader cancelled did not store the user")
	}
}

func TestCallerDeadlineWhileWaitingIsUpstreamUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|slow")
	store := testkit.NewUsers(want)
	entered, release := store.HoldReads()
	defer release()
	c := e.newCache(store, cache.Config{})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := c.User(ctx, want.ID, profiling.Read{})
	if !errors.Is(err, profiling.ErrUpstreamUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("User past its deadline = %v; want ErrUpstreamUnavailable and DeadlineExceeded", err)
	}
	<-entered
	release()
	// The fill outlived the caller and still fills the cache.
	testkit.Eventually(t, "the detached fill to store the user", func() bool { return e.cached(t, c.Key(want.ID)) != "" })
}

func TestUpdateThenReadCostsNoExtraGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := testkit.NewUsers(sampleUser("auth0|answer"), sampleUser("auth0|never-read"))
	c := e.newCache(store, cache.Config{})

	before := mustUser(t, c, "auth0|answer")
	updated, err := c.UpdateUser(context.Background(), "auth0|answer",
		profiling.Patch{UserMetadata: map[string]any{"title": "Engineer", "company": nil}})
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if updated.UserMetadata["title"] != "Engineer" || updated.UserMetadata["company"] != nil {
		t.Fatalf("UpdateUser returned metadata %v; want title set and company deleted", updated.UserMetadata)
	}
	after := mustUser(t, c, "auth0|answer")
	if n := store.Reads(); n != 1 {
		t.Fatalf("read after answer made %d extra upstream GETs, want 0", n-1)
	}
	sameJSON(t, after, updated)
	if !after.UpdatedAt.After(before.UpdatedAt) {
		t.Fatalf("read after answer has updated_at %v, not after %v", after.UpdatedAt, before.UpdatedAt)
	}

	// Write-through also serves a user never read before.
	if _, err := c.UpdateUser(context.Background(), "auth0|never-read",
		profiling.Patch{UserMetadata: map[string]any{"phone": "+441234567890"}}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if u := mustUser(t, c, "auth0|never-read"); u.UserMetadata["phone"] != "+441234567890" {
		t.Fatalf("read after answer = %v, want the answered phone", u.UserMetadata)
	}
	if n := store.Reads(); n != 1 {
		t.Fatalf("reading a just-updated user made %d upstream GETs, want 0", n-1)
	}
}

func TestTTLIsJitteredWithinBounds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := testkit.NewUsers()
	const ttl, jitter, maxStale = time.Hour, 0.2, 30 * time.Minute
	c := e.newCache(store, cache.Config{TTL: ttl, Jitter: jitter, MaxStale: maxStale})

	const users = 50
	began := time.Now()
	ttls := make([]time.Duration, users)
	for i := range users {
		id := fmt.Sprintf("auth0|ttl-%d", i)
		store.Set(sampleUser(id))
		mustUser(t, c, id)
		d, err := e.rdb.PTTL(context.Background(), c.Key(id)).Result()
		if err != nil {
			t.Fatalf("PTTL: %v", err)
		}
		// Redis keeps the entry MaxStale past its fresh period, and the
		// entry says when that period ends.
		var stored struct {
			FetchedMS int64 `json:"fetched_ms"`
			FreshMS   int64 `json:"fresh_ms"`
		}
		if err := json.Unmarshal([]byte(e.cached(t, c.Key(id))), &stored); err != nil {
			t.Fatal(err)
		}
		fresh := time.Duration(stored.FreshMS-stored.FetchedMS) * time.Millisecond
		// Less the time spent so far, give or take Redis's and the
		// entry's millisecond rounding.
		if gap := (d - maxStale) - fresh; gap > 2*time.Millisecond || gap < -time.Since(began)-2*time.Millisecond {
			t.Fatalf("entry %d: Redis keeps it %v, its fresh period is %v: want fresh period + MaxStale (%v)", i, d, fresh, maxStale)
		}
		ttls[i] = fresh
	}
	// Entry times have whole milliseconds.
	lowest := time.Duration(float64(ttl)*(1-jitter)) - time.Millisecond
	lo, hi := ttls[0], ttls[0]
	for i, d := range ttls {
		if d > ttl+time.Millisecond || d < lowest {
			t.Fatalf("entry %d is fresh for %v, want within [%v, %v]", i, d, lowest, ttl)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	// 50 uniform draws spanning less than half the jitter window happens
	// with probability about 1e-13: a narrower spread means no jitter.
	if spread := hi - lo; spread < time.Duration(float64(ttl)*jitter/2) {
		t.Fatalf("TTLs span only %v over %d entries; jitter is not applied", spread, users)
	}
}

func TestUndecodableEntryIsAMissAndRepaired(t *testing.T) {
	t.Parallel()
	entries := map[string]string{
		"not JSON":                "\x00garbage{",
		"truncated":               `{"fetched_ms":1,"user":{"user_id":"auth0|bad","email":"ada@`,
		"wrong field type":        `{"fetched_ms":1,"user":{"user_id":5}}`,
		"wrong metadata type":     `{"fetched_ms":1,"user":{"user_id":"auth0|bad","user_metadata":["a"]}}`,
		"bare user (no envelope)": `{"user_id":"auth0|bad"}`,
		"array":                   `[]`,
		"empty object":            `{}`,
		"null":                    `null`,
		"another user":            `{"fetched_ms":1,"user":{"user_id":"auth0|someone-else","email":"eve@example.com"}}`,
	}
	for name, raw := range entries {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			want := sampleUser("auth0|bad")
			store := testkit.NewUsers(want)
			c := e.newCache(store, cache.Config{})
			if err := e.rdb.Set(context.Background(), c.Key(want.ID), raw, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}

			sameJSON(t, mustUser(t, c, want.ID), want)
			if n := store.Reads(); n != 1 {
				t.Fatalf("undecodable entry: %d upstream calls, want 1 (a miss)", n)
			}
			var repaired struct{ User profiling.User }
			if err := json.Unmarshal([]byte(e.cached(t, c.Key(want.ID))), &repaired); err != nil || repaired.User.ID != want.ID {
				t.Fatalf("entry not repaired: %q (%v)", e.cached(t, c.Key(want.ID)), err)
			}
			mustUser(t, c, want.ID)
			if n := store.Reads(); n != 1 {
				t.Fatalf("read after repair made %d upstream calls, want 0", n-1)
			}
			if !contains(e.logs.String(), "undecodable entry") {
				t.Fatalf("undecodable entry not logged; log:\n%s", e.logs)
			}
		})
	}
}

func TestKeyPrefixCarriesTheFormatVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|prefix")
	store := testkit.NewUsers(want)

	v1 := e.newCache(store, cache.Config{})
	if got := v1.Key(want.ID); got != "pp:v3:user:auth0|prefix" {
		t.Fatalf("default key = %q, want pp:v3:user:auth0|prefix", got)
	}
	mustUser(t, v1, want.ID)
	raw := e.cached(t, "pp:v3:user:auth0|prefix")
	if raw == "" {
		t.Fatal("nothing stored under the default key")
	}
	// Compact JSON of the domain snapshot, Auth0's attribute names, with
	// the time it was fetched, the end of its fresh period, and first of
	// all its updated_at in milliseconds (what the store script compares).
	var asMap struct {
		FetchedMS int64          `json:"fetched_ms"`
		FreshMS   int64          `json:"fresh_ms"`
		User      map[string]any `json:"user"`
	}
	if err := json.Unmarshal([]byte(raw), &asMap); err != nil {
		t.Fatalf("entry is not JSON: %v", err)
	}
	wantPrefix := fmt.Sprintf(`{"updated_ms":%d,`, want.UpdatedAt.UnixMilli())
	if asMap.User["user_id"] != want.ID || asMap.FetchedMS == 0 || asMap.FreshMS <= asMap.FetchedMS ||
		!strings.HasPrefix(raw, wantPrefix) || contains(raw, "\n") || contains(raw, ": ") {
		t.Fatalf("entry is not the compact JSON of the user: %s", raw)
	}

	// A cache of a newer format never reads the old format's entries.
	v2 := e.newCache(store, cache.Config{KeyPrefix: "pp:v4:user:"})
	mustUser(t, v2, want.ID)
	if n := store.Reads(); n != 2 {
		t.Fatalf("v2 cache made %d upstream calls in all, want 2 (it must not read v1's entry)", n)
	}
	if e.cached(t, "pp:v4:user:auth0|prefix") == "" {
		t.Fatal("v2 cache did not store under its own prefix")
	}
}

func TestReturnedUsersAreIndependentCopies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := sampleUser("auth0|copies")
	pristine, _ := json.Marshal(want)
	store := testkit.NewUsers(want)
	c := e.newCache(store, cache.Config{})

	scribble := func(u *profiling.User) {
		u.Email = "mallory@example.com"
		u.UserMetadata["company"] = "Mallory Inc"
		u.UserMetadata["prefs"].(map[string]any)["theme"] = "hacked"
		u.AppMetadata["roles"].([]any)[0] = "admin"
		u.Identities[0].ProfileData["locale"] = "xx"
	}

	scribble(mustUser(t, c, want.ID)) // the miss path's copy
	scribble(mustUser(t, c, want.ID)) // the hit path's copy
	sameJSON(t, mustUser(t, c, want.ID), want)

	updated, err := c.UpdateUser(context.Background(), want.ID, profiling.Patch{UserMetadata: map[string]any{"title": "CTO"}})
	if err != nil {
		t.Fatal(err)
	}
	scribble(updated)
	if got := mustUser(t, c, want.ID); got.Email != want.Email || got.UserMetadata["company"] != "Analytical Engines" {
		t.Fatalf("changing UpdateUser's result changed the cache: %+v", got)
	}

	// Concurrent waiters on one fill each get their own copy.
	if err := c.Invalidate(context.Background(), want.ID); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			u, _, err := c.User(context.Background(), want.ID, profiling.Read{})
			if err != nil {
				t.Error(err)
				return
			}
			scribble(u) // a shared map would make this a data race (-race)
		})
	}
	wg.Wait()

	if now, _ := json.Marshal(want); string(now) != string(pristine) {
		t.Fatalf("callers changed the upstream store's own user:\n got %s\nwant %s", now, pristine)
	}
}

func TestUpstreamErrorsPassThroughWrapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := testkit.NewUsers()
	c := e.newCache(store, cache.Config{FillTimeout: 100 * time.Millisecond})

	_, _, err := c.User(context.Background(), "auth0|nobody", profiling.Read{})
	if !errors.Is(err, profiling.ErrUserNotFound) {
		t.Fatalf("missing user: %v, want ErrUserNotFound", err)
	}
	if raw := e.cached(t, c.Key("auth0|nobody")); !contains(raw, `"missing":true`) || contains(raw, "user_id") {
		t.Fatalf("a missing user is remembered as missing, and nothing else; entry %q", raw)
	}
	if _, err := c.UpdateUser(context.Background(), "auth0|nobody", profiling.Patch{}); !errors.Is(err, profiling.ErrUserNotFound) {
		t.Fatalf("update of missing user: %v, want ErrUserNotFound", err)
	}
	if _, _, err := c.User(context.Background(), "", profiling.Read{}); !errors.Is(err, profiling.ErrUserNotFound) {
		t.Fatalf("empty id: %v, want ErrUserNotFound", err)
	}

	store.Set(sampleUser("auth0|down"))
	store.FailReads(fmt.Errorf("fake store: 429: %w", profiling.ErrUpstreamUnavailable))
	if _, _, err := c.User(context.Background(), "auth0|down", profiling.Read{}); !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("upstream outage: %v, want ErrUpstreamUnavailable", err)
	}

	// An upstream that never answers is cut off by FillTimeout, and that
	// counts as unavailable even if the store reports a bare context error.
	store.FailReads(nil)
	_, release := store.HoldReads()
	defer release()
	_, _, err = c.User(context.Background(), "auth0|down", profiling.Read{})
	if !errors.Is(err, profiling.ErrUpstreamUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging upstream: %v, want ErrUpstreamUnavailable wrapping DeadlineExceeded", err)
	}
}

func TestUpstreamPanicIsAnErrorNotACrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := testkit.NewUsers(sampleUser("auth0|panic"))
	store.Panic(true)
	c := e.newCache(store, cache.Config{})

	if _, _, err := c.User(context.Background(), "auth0|panic", profiling.Read{}); err == nil {
		t.Fatal("User succeeded although the upstream read panicked")
	}
	if !contains(e.logs.String(), "panicked") {
		t.Fatalf("upstream panic not logged; log:\n%s", e.logs)
	}
}

func TestUpstreamReturningAnotherUserIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := testkit.NewUsers()
	store.SetAs("auth0|asked", sampleUser("auth0|someone-else"))
	c := e.newCache(store, cache.Config{})

	if u, _, err := c.User(context.Background(), "auth0|asked", profiling.Read{}); err == nil {
		t.Fatalf("User returned %q for auth0|asked", u.ID)
	}
	if e.cached(t, c.Key("auth0|asked")) != "" {
		t.Fatal("another user's record was cached under the asked id")
	}
}

func TestNewRejectsImpossibleConfigByName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := testkit.NewUsers()
	cases := []struct {
		name string
		cfg  cache.Config
		want string
	}{
		{"jitter of 1", cache.Config{Jitter: 1}, "Config.Jitter"},
		{"negative jitter", cache.Config{Jitter: -0.1}, "Config.Jitter"},
		{"negative TTL", cache.Config{TTL: -time.Minute}, "Config.TTL"},
		{"sub-millisecond TTL", cache.Config{TTL: time.Microsecond}, "Config.TTL"},
		{"negative fill timeout", cache.Config{FillTimeout: -time.Second}, "Config.FillTimeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !contains(msg, tc.want) {
					t.Fatalf("New panicked with %v, want a message naming %s", r, tc.want)
				}
			}()
			cache.New(e.rdb, redisconn.NewGuard(e.rdb, redisconn.GuardConfig{}), store, tc.cfg)
		})
	}
}

// A caller whose token is newer than the cached copy may have logged in
// since; it gets one upstream read, and the copy then serves it again.
func TestCopyOlderThanTheCallersTokenIsRefetchedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := sampleUser("auth0|fresh")
	store := testkit.NewUsers(u)
	c := e.newCache(store, cache.Config{})
	mustUser(t, c, u.ID) // cached, fetched now; last login long ago

	// A token first seen after the copy was read, from a login the copy lacks.
	login := time.Now()
	relogged := sampleUser(u.ID)
	relogged.LoginsCount, relogged.LastLogin = 4, login
	store.Set(relogged)

	time.Sleep(2 * time.Millisecond) // stores keep milliseconds
	read := profiling.ReadForToken(profiling.Token{IssuedAt: login, FirstSeen: time.Now(), Unique: true}, time.Now())
	for range 3 {
		got, _, err := c.User(context.Background(), u.ID, read)
		if err != nil {
			t.Fatal(err)
		}
		if got.LoginsCount != 4 {
			t.Fatalf("logins_count %d from a copy older than the token, want 4", got.LoginsCount)
		}
	}
	if n := store.Reads(); n != 2 {
		t.Fatalf("%d upstream reads, want 2 (the fill, then one refetch for the newer token)", n)
	}
	// Callers without a token time are served the cached copy as before.
	mustUser(t, c, u.ID)
	if n := store.Reads(); n != 2 {
		t.Fatalf("plain read after refetch made an upstream call")
	}
}
