package auth0store

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/testkit"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/profiling"
)

// withClock makes s read time from a test clock, so a test can pass
// ReauthInterval without waiting for it; call it before s is used.
func withClock(s *Store) *testkit.Clock {
	c := testkit.NewClock(time.Now())
	s.now = c.Now
	return c
}

// retireCurrentKey rotates the emulator's signing key and retires the old
// one, so every token it signed (the store's cached one included) stops
// verifying.
func retireCurrentKey(emu *auth0emu.Server) {
	old, _ := emu.SigningKey()
	emu.RotateKey()
	emu.RetireKey(old)
}

// logLine renders err as the service's logs would.
func logLine(err error) string {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Error("store failed", "err", err)
	return b.String()
}

// wantRefused checks err is an outage to the domain and a credentials
// problem to the logs, with the generic client message.
func wantRefused(t *testing.T, emu *auth0emu.Server, err error) *Error {
	t.Helper()
	e := wantUnavailable(t, emu, err)
	if !errors.Is(err, ErrCredentialsRefused) {
		t.Errorf("err %v does not wrap ErrCredentialsRefused", err)
	}
	if line := logLine(e); !strings.Contains(line, "Management API refused our credentials") {
		t.Errorf("the log line does not say our credentials were refused: %s", line)
	}
	return e
}

type routeCounts struct{ token, get, patch int }

func countsOf(emu *auth0emu.Server) routeCounts {
	return routeCounts{emu.Count(auth0emu.RouteToken), emu.Count(auth0emu.RouteGetUser), emu.Count(auth0emu.RoutePatchUser)}
}

func (c routeCounts) minus(o routeCounts) routeCounts {
	return routeCounts{c.token - o.token, c.get - o.get, c.patch - o.patch}
}

// After the key that signed the cached Management API token is retired,
// the first read gets a 401, fetches one new token and succeeds; the next
// read reuses that token.
func TestRetiredSigningKeyGetsAFreshToken(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	ctx := context.Background()
	if _, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
		t.Fatal(err)
	}
	retireCurrentKey(emu)

	before := countsOf(emu)
	u, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{})
	if err != nil || u.ID != auth0emu.SeedNewUserID {
		t.Fatalf("read after the key was retired: %v", err)
	}
	if d := countsOf(emu).minus(before); d.token != 1 || d.get != 2 {
		t.Errorf("recovery cost %d token fetches and %d GETs, want 1 and 2 (the refused one, the repeat)", d.token, d.get)
	}

	before = countsOf(emu)
	if _, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
		t.Fatal(err)
	}
	if d := countsOf(emu).minus(before); d.token != 0 || d.get != 1 {
		t.Errorf("the next read cost %d token fetches and %d GETs, want 0 and 1", d.token, d.get)
	}
	t.Logf("retired key: 1 extra token fetch, 1 extra GET")
}

// Fifty reads refused together cause one rebuild and one token fetch.
func TestConcurrentReadsAfterRetirementFetchOneToken(t *testing.T) {
	const n = 50
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	if _, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
		t.Fatal(err)
	}
	retireCurrentKey(emu)

	before := countsOf(emu)
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			_, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a concurrent read failed: %v", err)
		}
	}
	d := countsOf(emu).minus(before)
	if d.token != 1 {
		t.Errorf("%d concurrent reads after the retirement fetched %d tokens, want 1", n, d.token)
	}
	if d.get < n || d.get > 2*n {
		t.Errorf("%d GETs for %d reads, want between %d and %d (each repeated at most once)", d.get, n, n, 2*n)
	}
	t.Logf("%d concurrent reads after retirement: %d token fetch, %d GETs", n, d.token, d.get)
}

// A PATCH refused with a 401 is repeated once with a fresh token and lands
// once.
func TestUpdateAfterRetirementGetsAFreshToken(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	ctx := context.Background()
	if _, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
		t.Fatal(err)
	}
	retireCurrentKey(emu)

	before := countsOf(emu)
	u, err := s.UpdateUser(ctx, auth0emu.SeedNewUserID, profiling.Patch{UserMetadata: map[string]any{"company": "Initech"}})
	if err != nil {
		t.Fatalf("update after the key was retired: %v", err)
	}
	if u.UserMetadata["company"] != "Initech" {
		t.Errorf("answer %v", u.UserMetadata)
	}
	if d := countsOf(emu).minus(before); d.token != 1 || d.patch != 2 {
		t.Errorf("recovery cost %d token fetches and %d PATCHes, want 1 and 2", d.token, d.patch)
	}
	if p := emu.Patches(); len(p) < 2 || string(p[len(p)-1].Body) != string(p[len(p)-2].Body) {
		t.Errorf("the repeated PATCH is not the same request: %+v", p)
	}
	if raw, _ := emu.User(auth0emu.SeedNewUserID); raw["user_metadata"].(map[string]any)["company"] != "Initech" {
		t.Errorf("the emulator's store has %v", raw["user_metadata"])
	}
}

// A Management API that keeps answering 401 to fresh tokens costs one token
// fetch per ReauthInterval, not one per call, and its errors say it is our
// credentials.
func TestPersistent401FetchesAtMostOneTokenPerInterval(t *testing.T) {
	const calls = 10
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	clock := withClock(s)
	ctx := context.Background()
	if _, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
		t.Fatal(err)
	}
	emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{Status: http.StatusUnauthorized})

	before := countsOf(emu)
	_, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{})
	e := wantRefused(t, emu, err)
	if e.Status != http.StatusUnauthorized || !strings.Contains(logLine(e), "token_refreshed=true") {
		t.Errorf("status %d, log %s: want 401 after a fresh token", e.Status, logLine(e))
	}
	if d := countsOf(emu).minus(before); d.token != 1 || d.get != 2 {
		t.Errorf("first 401: %d token fetches, %d GETs, want 1 and 2", d.token, d.get)
	}

	before = countsOf(emu)
	for range calls {
		_, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{})
		wantRefused(t, emu, err)
	}
	if d := countsOf(emu).minus(before); d.token != 0 || d.get != calls {
		t.Errorf("%d more calls within the interval: %d token fetches, %d GETs, want 0 and %d", calls, d.token, d.get, calls)
	}

	clock.Add(defaultReauthInterval)
	before = countsOf(emu)
	_, _, err = s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{})
	wantRefused(t, emu, err)
	if d := countsOf(emu).minus(before); d.token != 1 || d.get != 2 {
		t.Errorf("after the interval: %d token fetches, %d GETs, want 1 and 2", d.token, d.get)
	}

	// The tenant accepts us again: no more fetches, the token in hand works.
	emu.ClearFaults()
	before = countsOf(emu)
	if _, _, err := s.User(ctx, auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
		t.Fatal(err)
	}
	if d := countsOf(emu).minus(before); d.token != 0 {
		t.Errorf("after recovery: %d token fetches", d.token)
	}
}

// With a wrong client secret the token endpoint answers 401: calls fail as
// an outage that the logs call a credentials problem, and the token
// endpoint is asked a bounded number of times however many calls come,
// sequential or concurrent, until ReauthInterval passes.
func TestWrongSecretDoesNotHammerTheTokenEndpoint(t *testing.T) {
	const calls = 20
	for _, concurrent := range []bool{false, true} {
		name := map[bool]string{false: "sequential", true: "concurrent"}[concurrent]
		t.Run(name, func(t *testing.T) {
			emu := emulator(t)
			s, err := New(context.Background(), Config{Domain: emu.URL(), ClientID: emu.Config().ClientID, ClientSecret: "wrong"})
			if err != nil {
				t.Fatal(err)
			}
			clock := withClock(s)
			errs := make(chan error, calls)
			var wg sync.WaitGroup
			for range calls {
				if concurrent {
					wg.Go(func() {
						_, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
						errs <- err
					})
				} else {
					_, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
					errs <- err
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				wantRefused(t, emu, err)
			}
			// One token request per auth style golang.org/x/oauth2 tries
			// (Basic header, then form); nothing more.
			fetches := emu.Count(auth0emu.RouteToken)
			if fetches < 1 || fetches > 2 {
				t.Errorf("%d %s calls made %d token requests, want 1 or 2", calls, name, fetches)
			}
			if n := emu.Count(auth0emu.RouteGetUser); n != 0 {
				t.Errorf("%d GETs were sent without a token", n)
			}
			t.Logf("wrong secret, %d %s calls: %d token requests", calls, name, fetches)

			// Refused before anything was sent: a cache may keep its copy.
			_, err = s.UpdateUser(context.Background(), auth0emu.SeedNewUserID, profiling.Patch{UserMetadata: map[string]any{"a": "b"}})
			if e := wantRefused(t, emu, err); !e.ChangeNotApplied() {
				t.Errorf("an update refused before sending says it may have landed")
			}

			// The pause ends: the next call asks the token endpoint again.
			clock.Add(defaultReauthInterval)
			_, _, err = s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
			wantRefused(t, emu, err)
			if again := emu.Count(auth0emu.RouteToken) - fetches; again < 1 || again > 2 {
				t.Errorf("after the interval: %d token requests, want 1 or 2", again)
			}
		})
	}
}

// Only a refusal pauses token requests: a token endpoint that refuses the
// Basic header but takes the form (an Auth0 application set to
// client_secret_post), or fails with a 5xx, is asked again at once.
func TestTokenEndpointFaultsThatAreNotRefusals(t *testing.T) {
	t.Run("header refused, form accepted", func(t *testing.T) {
		emu := emulator(t)
		emu.SetFault(auth0emu.RouteToken, auth0emu.Fault{Status: http.StatusUnauthorized, Times: 1})
		s := newStore(t, emu, Config{MaxRetries: -1})
		if _, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
			t.Fatalf("the form attempt was not made: %v", err)
		}
		if n := emu.Count(auth0emu.RouteToken); n != 2 {
			t.Errorf("%d token requests, want 2 (header, then form)", n)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		emu := emulator(t)
		emu.SetFault(auth0emu.RouteToken, auth0emu.Fault{Status: http.StatusServiceUnavailable, Times: 2})
		s := newStore(t, emu, Config{MaxRetries: -1})
		_, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
		wantUnavailable(t, emu, err)
		if errors.Is(err, ErrCredentialsRefused) {
			t.Errorf("a 503 from the token endpoint called a credentials problem: %v", err)
		}
		if _, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
			t.Errorf("the next call did not ask again: %v", err)
		}
	})
}

func TestReauthIntervalMustNotBeNegative(t *testing.T) {
	_, err := New(context.Background(), Config{Domain: "tenant.eu.auth0.com", ClientID: "id", ClientSecret: "s", ReauthInterval: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "ReauthInterval") {
		t.Errorf("negative ReauthInterval: %v", err)
	}
}
