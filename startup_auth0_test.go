package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/syncbuf"
)

// A wrong client secret used to start "ready" and fail every request as
// UPSTREAM_UNAVAILABLE; now start-up stops, naming what to check, with
// Auth0's status and code and without the secret.
func TestRefusedClientCredentialsStopStartup(t *testing.T) {
	_, _, env := testTenant(t)
	env["AUTH0_CLIENT_SECRET"] = "not-the-secret-keep-out-of-logs"
	var logs syncbuf.Buffer
	err := run(t.Context(), func(k string) string { return env[k] }, &syncbuf.Buffer{}, &logs)
	if err == nil {
		t.Fatal("started with a wrong client secret")
	}
	for _, want := range []string{"AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_DOMAIN", "401", "access_denied"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error()+logs.String(), env["AUTH0_CLIENT_SECRET"]) {
		t.Errorf("the secret is in the error or the log: %v\n%s", err, logs.String())
	}
}

// A tenant that does not answer at start-up is not fatal (it may come up
// after the service), but the instance is not ready until it answers.
func TestUnreachableTenantIsNotReadyUntilItAnswers(t *testing.T) {
	_, _, env := testTenant(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env["AUTH0_DOMAIN"] = "http://" + addr
	e := runService(t, env)
	if !strings.Contains(e.logs.String(), "no Management API token at start-up") {
		t.Errorf("unreachable tenant not logged:\n%s", e.logs.String())
	}
	if code := get(t, e.url+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the tenant unreachable: %d, want 503", code)
	}

	emu, err := auth0emu.Listen(addr, auth0emu.Config{Audience: testAudience, ClientID: testClientID, ClientSecret: testClientSecret})
	if err != nil {
		t.Fatalf("the tenant's port was taken meanwhile: %v", err)
	}
	defer emu.Close()
	deadline := time.Now().Add(10 * time.Second)
	for get(t, e.url+"/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("not ready 10s after the tenant came up; logs:\n%s", e.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// On a custom domain users' tokens say iss https://login.example.com/
// while the Management API stays on the tenant's domain. Played here by a
// proxy in front of the emulator: with AUTH0_ISSUER the tokens are
// accepted (keys fetched from the issuer), without it they are refused,
// and the refusal names both issuers at WARN.
func TestCustomDomainTokens(t *testing.T) {
	var target atomic.Pointer[url.URL]
	var jwksThroughIssuer atomic.Int32
	custom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/jwks.json" {
			jwksThroughIssuer.Add(1)
		}
		httputil.NewSingleHostReverseProxy(target.Load()).ServeHTTP(w, r)
	}))
	defer custom.Close()
	issuer := custom.URL + "/"
	emu, _, env := testTenantWith(t, auth0emu.Config{CustomDomainIssuer: issuer})
	u, _ := url.Parse(emu.URL())
	target.Store(u)

	without := runService(t, env)
	without.emu = emu
	token := without.login("new@example.com")
	if r := without.gql(token, `{ viewer { email } }`, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("custom-domain token without AUTH0_ISSUER: %d %s, want 401", r.Status, r.Raw)
	}
	waitForLog(t, without, `"level":"WARN"`)
	logs := without.logs.String()
	if !strings.Contains(logs, `"expected":"`+emu.Issuer()+`"`) || !strings.Contains(logs, issuer) || strings.Contains(logs, token) {
		t.Errorf("issuer mismatch not explained (or the token logged):\n%s", logs)
	}

	env["AUTH0_ISSUER"] = issuer
	with := runService(t, env)
	with.emu = emu
	token = with.login("new@example.com")
	if r := with.gql(token, `{ viewer { email } }`, nil); path(r.Data, "viewer", "email") != "new@example.com" {
		t.Fatalf("custom-domain token with AUTH0_ISSUER=%s: %d %s", issuer, r.Status, r.Raw)
	}
	if jwksThroughIssuer.Load() == 0 {
		t.Errorf("signing keys not fetched from the issuer's /.well-known/jwks.json")
	}
}

// Tokens the tenant signed for another audience are an operator's
// misconfiguration: one WARN a minute naming the expected audience and the
// token's, never the token.
func TestWrongAudienceIsWarnedOncePerMinute(t *testing.T) {
	e := startService(t, withEnv("AUTH0_AUDIENCE", "https://api.configured-wrong.example/"))
	token := e.login("new@example.com")
	for range 3 {
		if r := e.gql(token, `{ viewer { email } }`, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("token for another audience: %d %s", r.Status, r.Raw)
		}
	}
	waitForLog(t, e, `"level":"WARN"`)
	logs := e.logs.String()
	if n := strings.Count(logs, "signed for another aud"); n != 1 {
		t.Errorf("%d audience warnings for 3 refusals, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, `"expected":"https://api.configured-wrong.example/"`) || !strings.Contains(logs, testAudience) {
		t.Errorf("warning does not name both audiences:\n%s", logs)
	}
	if strings.Contains(logs, token) {
		t.Errorf("the token is in the log")
	}
}

func waitForLog(t *testing.T, e *testEnv, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(e.logs.String(), want) {
			return
		}
	}
	t.Fatalf("no %s in the log:\n%s", want, e.logs.String())
}
