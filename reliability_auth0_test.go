package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/figures"
)

// malformedUser makes go-auth0 panic while decoding (email_verified of the
// wrong type); the service must turn that into an error, not a crash.
var malformedUser = []byte(`{"user_id":"auth0|x","email":"x@example.com","email_verified":{"not":"a bool"}}`)

// With Auth0 failing (5xx, 429, hanging, or answering garbage), users the
// cache holds are served their last copy, flagged in extensions.stale, and
// users it does not hold get UPSTREAM_UNAVAILABLE within the cache's
// UpstreamWait (2s by default), not after the SDK's retries (up to its 5s
// budget). Through the real server, real go-auth0, real Redis.
func TestAuth0DownCachedUsersServedStaleUncachedFailFast(t *testing.T) {
	emu, _, env := testTenant(t)
	const ttl = time.Second
	env["CACHE_TTL"] = ttl.String()
	svc := runService(t, env)

	faults := []struct {
		name  string
		fault auth0emu.Fault
	}{
		{"503", auth0emu.Fault{Status: http.StatusServiceUnavailable}},
		{"429", auth0emu.Fault{RateLimited: true}},
		{"hang", auth0emu.Fault{Hang: true}},
		{"malformed user", auth0emu.Fault{Body: malformedUser}},
	}
	const cachedUsers, uncachedPerFault = 4, 2
	_, cachedEmails := createUsers(t, emu, "cached", cachedUsers)
	_, uncachedEmails := createUsers(t, emu, "uncached", uncachedPerFault*len(faults))
	cachedTokens := make([]string, cachedUsers)
	for i, email := range cachedEmails {
		cachedTokens[i] = passwordLogin(t, emu.URL(), email)
		if _, r, ok := timedViewer(svc.url, cachedTokens[i]); !ok {
			t.Fatalf("filling the cache for %s: %s", email, r.Raw)
		}
	}

	served, staleTried := 0, 0
	var slowestFailure time.Duration
	perFault := ""
	for fi, f := range faults {
		// Every entry past its fresh period: each read must ask Auth0.
		time.Sleep(ttl + 200*time.Millisecond)
		uncachedTokens := make([]string, uncachedPerFault)
		for i := range uncachedTokens {
			uncachedTokens[i] = passwordLogin(t, emu.URL(), uncachedEmails[fi*uncachedPerFault+i])
		}
		emu.SetFault(auth0emu.RouteGetUser, f.fault)

		var mu sync.Mutex
		var wg sync.WaitGroup
		var slowest time.Duration
		for i, token := range cachedTokens {
			wg.Go(func() {
				_, r, ok := timedViewer(svc.url, token)
				age, _ := path(r.Extensions, "stale", "ageSeconds").(float64)
				mu.Lock()
				defer mu.Unlock()
				staleTried++
				if ok && age >= ttl.Seconds() {
					served++
				} else {
					t.Errorf("%s: cached user %d: want data flagged stale with ageSeconds >= %v; got %s", f.name, i, ttl.Seconds(), r.Raw)
				}
			})
		}
		for i, token := range uncachedTokens {
			wg.Go(func() {
				took, r, ok := timedViewer(svc.url, token)
				mu.Lock()
				defer mu.Unlock()
				slowest = max(slowest, took)
				if ok || r.code(0) != "UPSTREAM_UNAVAILABLE" || path(r.Data, "viewer") != nil {
					t.Errorf("%s: uncached user %d: want viewer null and UPSTREAM_UNAVAILABLE; got %s", f.name, i, r.Raw)
				}
			})
		}
		wg.Wait()
		emu.ClearFaults()
		slowestFailure = max(slowestFailure, slowest)
		perFault += fmt.Sprintf("%s %.0f ms, ", f.name, ms(slowest))
	}

	counted := int(svc.scrapeMetrics(t)["bff_cache_stale_served_total"])
	figures.Report(t, "auth0 down: cached served stale %d/%d, uncached failed fast in ≤ %.0f ms (%sSDK budget 5000 ms)",
		served, staleTried, ms(slowestFailure), perFault)
	if counted != served {
		t.Errorf("bff_cache_stale_served_total = %d, want %d", counted, served)
	}
	// The SDK's own budget is 5s; failing after it would mean waiting for
	// its retries. Generous for a loaded machine: UpstreamWait is 2s.
	if slowestFailure >= 5*time.Second {
		t.Errorf("an uncached user waited %.0f ms for its error", ms(slowestFailure))
	}

	// Auth0 back: fresh answers, no flag.
	time.Sleep(ttl + 200*time.Millisecond)
	if _, r, ok := timedViewer(svc.url, cachedTokens[0]); !ok || r.Extensions["stale"] != nil {
		t.Errorf("with Auth0 back: %s", r.Raw)
	}
}

// A malformed user from Auth0 (go-auth0 panics decoding it) is
// UPSTREAM_UNAVAILABLE, for reads and for writes, and the server goes on.
// A write whose answer was garbled may have landed, so the cached copy is
// dropped rather than served.
func TestMalformedUpstreamUserIsAnErrorNotACrash(t *testing.T) {
	emu, _, env := testTenant(t)
	svc := runService(t, env)
	_, emails := createUsers(t, emu, "garbled", 2)
	reader := passwordLogin(t, emu.URL(), emails[0])
	writer := passwordLogin(t, emu.URL(), emails[1])
	if _, r, ok := timedViewer(svc.url, writer); !ok { // cached
		t.Fatal(r.Raw)
	}

	emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{Body: malformedUser})
	_, r, ok := timedViewer(svc.url, reader)
	if ok || r.code(0) != "UPSTREAM_UNAVAILABLE" {
		t.Fatalf("read of a malformed user: want UPSTREAM_UNAVAILABLE, got %s", r.Raw)
	}
	emu.ClearFaults()

	emu.SetFault(auth0emu.RoutePatchUser, auth0emu.Fault{Body: malformedUser})
	r, err := postGQL(svc.url, writer, updateMutation, map[string]any{"input": map[string]any{"company": "Garbled Ltd"}})
	if err != nil || r.code(0) != "UPSTREAM_UNAVAILABLE" {
		t.Fatalf("write answered with a malformed user: want UPSTREAM_UNAVAILABLE, got %v %v", err, r.Raw)
	}
	emu.ClearFaults()

	// The server is up, and the write that did land is not hidden by the
	// cached copy from before it.
	r, err = postGQL(svc.url, writer, `{ viewer { company } }`, nil)
	if err != nil || len(r.Errors) > 0 || path(r.Data, "viewer", "company") != "Garbled Ltd" {
		t.Fatalf("after the garbled answers: %v %v; want company Garbled Ltd", err, r.Raw)
	}
}
