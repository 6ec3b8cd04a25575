package auth0emu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/testkit"

	"github.com/auth0/go-auth0/management"
)

func TestFaultStatusForTimes(t *testing.T) {
	s := start(t, Config{})
	tok := bearer(managementToken(t, s, ""))
	s.SetFault(RouteGetUser, Fault{Status: http.StatusServiceUnavailable, Times: 2})
	for range 2 {
		r := do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, "")
		wantAPIError(t, r, http.StatusServiceUnavailable, "")
		if r.header.Get("X-RateLimit-Remaining") == "" {
			t.Errorf("injected 503 lacks X-RateLimit headers")
		}
	}
	if r := do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, ""); r.status != http.StatusOK {
		t.Errorf("after Times ran out: %d", r.status)
	}
	// Status faults are not processed: a faulted PATCH stores nothing.
	s.SetFault(RoutePatchUser, Fault{Status: http.StatusInternalServerError})
	h := tok.Clone()
	h.Set("Content-Type", "application/json")
	wantAPIError(t, do(t, http.MethodPatch, userURL(s, SeedNewUserID), h, `{"user_metadata":{"x":1}}`), http.StatusInternalServerError, "")
	if u, _ := s.User(SeedNewUserID); u["user_metadata"] != nil {
		t.Errorf("a 500-faulted PATCH was applied")
	}
	if n := s.Count(RouteGetUser); n != 3 {
		t.Errorf("Count %d, want 3", n)
	}
}

// An injected 429 can say the tenant is out of budget for longer than the
// token bucket would: X-RateLimit-Reset and Retry-After follow RetryAfter,
// also when set through the admin route.
func TestFaultRateLimitedRetryAfter(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := start(t, Config{Now: clock.Now})
	tok := bearer(managementToken(t, s, ""))
	s.SetFault(RouteGetUser, Fault{RateLimited: true, RetryAfter: 2500 * time.Millisecond})
	r := do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, "")
	wantAPIError(t, r, http.StatusTooManyRequests, "too_many_requests")
	if want := fmt.Sprint(clock.Now().Add(3 * time.Second).Unix()); r.header.Get("X-RateLimit-Reset") != want || r.header.Get("Retry-After") != "3" {
		t.Errorf("429 headers %v, want X-RateLimit-Reset %s and Retry-After 3", r.header, want)
	}

	admin := http.Header{"Content-Type": {"application/json"}}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/emulator/faults", nil)
	req.SetBasicAuth(s.Config().ClientID, s.Config().ClientSecret)
	admin.Set("Authorization", req.Header.Get("Authorization"))
	if r := do(t, http.MethodPost, s.URL()+"/emulator/faults", admin, `{"route":"GET /api/v2/users/{id}","rate_limited":true,"retry_after":"5s"}`); r.status != http.StatusOK {
		t.Fatalf("admin fault: %d %s", r.status, r.body)
	}
	r = do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, "")
	if want := fmt.Sprint(clock.Now().Add(5 * time.Second).Unix()); r.status != http.StatusTooManyRequests || r.header.Get("X-RateLimit-Reset") != want {
		t.Errorf("admin-set 429: %d %v, want reset %s", r.status, r.header, want)
	}
	if r := do(t, http.MethodPost, s.URL()+"/emulator/faults", admin, `{"route":"GET /api/v2/users/{id}","rate_limited":true,"retry_after":"soon"}`); r.status != http.StatusBadRequest {
		t.Errorf("retry_after soon: %d %s", r.status, r.body)
	}
}

func TestFaultRateLimitedStorm(t *testing.T) {
	s := start(t, Config{})
	tok := bearer(managementToken(t, s, ""))
	s.SetFault(RouteGetUser, Fault{RateLimited: true})
	for range 3 {
		r := do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, "")
		wantAPIError(t, r, http.StatusTooManyRequests, "too_many_requests")
		if r.header.Get("Retry-After") != "1" || r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("429 headers %v", r.header)
		}
	}
	_, err := sdk(t, s).User.Read(context.Background(), SeedNewUserID)
	var mErr management.Error
	if !errors.As(err, &mErr) || mErr.Status() != http.StatusTooManyRequests {
		t.Errorf("SDK: %v", err)
	}
	s.ClearFaults()
	if r := do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, ""); r.status != http.StatusOK {
		t.Errorf("after ClearFaults: %d", r.status)
	}
}

// A hang lasts until the client gives up; ClearFaults answers the hung
// request normally.
func TestFaultHang(t *testing.T) {
	s := start(t, Config{})
	m := sdk(t, s)
	if _, err := m.User.Read(context.Background(), SeedNewUserID); err != nil { // warm the token
		t.Fatal(err)
	}
	s.SetFault(RouteGetUser, Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := m.User.Read(ctx, SeedNewUserID)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung read: %v, want deadline exceeded", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := m.User.Read(context.Background(), SeedNewUserID)
		done <- err
	}()
	waitFor(t, func() bool { return s.Count(RouteGetUser) == 3 })
	s.ClearFaults()
	if err := <-done; err != nil {
		t.Errorf("released read: %v", err)
	}
}

func TestFaultTokenEndpointHang(t *testing.T) {
	s := start(t, Config{})
	s.SetFault(RouteToken, Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	m, err := management.New(s.Domain(), management.WithInsecure(),
		management.WithClientCredentials(ctx, s.Config().ClientID, s.Config().ClientSecret),
		management.WithNoRetries())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.User.Read(ctx, SeedNewUserID); err == nil {
		t.Fatal("read succeeded while the token endpoint hung")
	}
	if s.Count(RouteGetUser) != 0 || s.Count(RouteToken) == 0 {
		t.Errorf("token %d get %d", s.Count(RouteToken), s.Count(RouteGetUser))
	}
}

func TestFaultMalformedJSONAndBody(t *testing.T) {
	s := start(t, Config{})
	m := sdk(t, s)
	s.SetFault(RouteGetUser, Fault{MalformedJSON: true, Times: 1})
	tok := bearer(managementToken(t, s, ""))
	r := do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, "")
	if r.status != http.StatusOK || json.Valid(r.body) || !strings.HasPrefix(string(r.body), "{") {
		t.Errorf("malformed: %d %s", r.status, r.body)
	}
	s.SetFault(RouteGetUser, Fault{MalformedJSON: true, Times: 1})
	if _, err := m.User.Read(context.Background(), SeedNewUserID); err == nil || !strings.Contains(err.Error(), "unmarshal") {
		t.Errorf("SDK on malformed JSON: %v", err)
	}

	// A raw body: a user whose email_verified has the wrong type, which
	// makes go-auth0 panic (callers must recover).
	bad := []byte(`{"user_id":"auth0|x","email_verified":1}`)
	s.SetFault(RouteGetUser, Fault{Body: bad, Times: 1})
	panicked := func() (p any) {
		defer func() { p = recover() }()
		_, _ = m.User.Read(context.Background(), SeedNewUserID)
		return nil
	}()
	if panicked == nil {
		t.Errorf("go-auth0 did not panic on email_verified:1; the store's recover may be unnecessary now")
	}
}

// Hold and Processed make the stale-read race deterministic: the GET reads
// the store, a PATCH lands, then the old answer is released.
func TestFaultHoldDeliversStaleRead(t *testing.T) {
	s := start(t, Config{})
	p := newPatcher(t, s)
	hold := make(chan struct{})
	processed := make(chan struct{})
	s.SetFault(RouteGetUser, Fault{Hold: hold, Processed: processed, Times: 1})

	got := make(chan httpResult, 1)
	go func() {
		r, err := doErr(http.MethodGet, userURL(s, SeedNewUserID), p.h, "")
		if err != nil {
			r.status = -1
		}
		got <- r
	}()
	<-processed
	p.ok(SeedNewUserID, `{"user_metadata":{"phone":"+15555550100"}}`)
	close(hold)
	r := <-got
	if r.status != http.StatusOK {
		t.Fatalf("held GET: %d", r.status)
	}
	if r.json(t)["user_metadata"] != nil {
		t.Errorf("held GET saw the later write: %s", r.body)
	}
	if u, _ := s.User(SeedNewUserID); u["user_metadata"] == nil {
		t.Errorf("the write is missing from the store")
	}
}

// Latency delays the answer after processing; the client's own deadline
// still applies, and ClearFaults lets it through at once.
func TestFaultLatency(t *testing.T) {
	s := start(t, Config{})
	tok := bearer(managementToken(t, s, ""))
	s.SetFault(RouteGetUser, Fault{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, userURL(s, SeedNewUserID), nil)
	req.Header = tok
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hour-long latency answered: %v", err)
	}
	done := make(chan httpResult, 1)
	go func() {
		r, err := doErr(http.MethodGet, userURL(s, SeedNewUserID), tok, "")
		if err != nil {
			r.status = -1
		}
		done <- r
	}()
	waitFor(t, func() bool { return s.Count(RouteGetUser) == 2 })
	s.ClearFaults()
	if r := <-done; r.status != http.StatusOK {
		t.Errorf("after clear: %d", r.status)
	}
}

func TestFaultsOnTokenAndJWKS(t *testing.T) {
	s := start(t, Config{})
	s.SetFault(RouteJWKS, Fault{Status: http.StatusServiceUnavailable, Times: 1})
	if r := do(t, http.MethodGet, s.URL()+"/.well-known/jwks.json", nil, ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("jwks fault: %d", r.status)
	}
	s.SetFault(RouteToken, Fault{RateLimited: true, Times: 1})
	r := passwordLogin(t, s, "new@example.com", SeedPassword)
	if r.status != http.StatusTooManyRequests || r.json(t)["error"] != "too_many_requests" {
		t.Errorf("token 429: %d %s", r.status, r.body)
	}
	if u, _ := s.User(SeedNewUserID); u["logins_count"] != nil {
		t.Errorf("a rate-limited login was counted")
	}
}

func TestCountersReset(t *testing.T) {
	s := start(t, Config{})
	p := newPatcher(t, s)
	p.ok(SeedNewUserID, `{"user_metadata":{"a":1}}`)
	if s.Count(RoutePatchUser) != 1 || s.Count(RouteToken) != 1 || len(s.Patches()) != 1 {
		t.Fatalf("counts %v patches %d", s.Counts(), len(s.Patches()))
	}
	patches := s.Patches()
	patches[0].Body[0] = 'X' // a copy: the record is not changed
	if s.Patches()[0].Body[0] != '{' {
		t.Errorf("Patches returned the internal slice")
	}
	s.ResetCounters()
	if len(s.Counts()) != 0 || len(s.Patches()) != 0 {
		t.Errorf("after reset counts %v patches %d", s.Counts(), len(s.Patches()))
	}
}

// waitFor polls a condition that another goroutine makes true (no timing
// assertion: it only bounds a hang).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
