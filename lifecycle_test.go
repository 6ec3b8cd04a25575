package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/syncbuf"
)

func TestHealthAndReadiness(t *testing.T) {
	e := startService(t)
	get := func(path string) (int, string) {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, `"status":"ready"`) {
		t.Fatalf("/readyz with Redis up: %d %s", code, body)
	}
	if m := e.scrapeMetrics(t); m[readyDegradedMetric] != 0 {
		t.Fatalf("%s with Redis up = %v, want 0", readyDegradedMetric, m[readyDegradedMetric])
	}
	token := e.login("social@example.com")
	e.redis.Stop()
	// Still serving (from Auth0), so still ready: a Redis blip must not
	// pull every instance out of the load balancer at once.
	if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, `"status":"degraded"`) || !strings.Contains(body, `"redis":"unavailable"`) {
		t.Fatalf("/readyz with Redis down: %d %s, want 200 degraded", code, body)
	}
	if r := e.gql(token, `{ viewer { email } }`, nil); path(r.Data, "viewer", "email") != "social@example.com" {
		t.Fatalf("not serving with Redis down: %d %s", r.Status, r.Raw)
	}
	if m := e.scrapeMetrics(t); m[readyDegradedMetric] != 1 {
		t.Fatalf("%s with Redis down = %v, want 1", readyDegradedMetric, m[readyDegradedMetric])
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz must stay up while Redis is down: %d", code)
	}
	// Production mode: no playground.
	if code, _ := get("/"); code != http.StatusNotFound {
		t.Fatalf("playground served in production mode: %d", code)
	}
}

// Shutdown lets an in-flight request finish, then run returns nil.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	e := startService(t)
	token := e.login("new@example.com")
	hold, reached := make(chan struct{}), make(chan struct{}, 1)
	e.emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{Hold: hold, Processed: reached})

	done := make(chan *gqlResponse, 1)
	go func() { done <- e.gql(token, `{ viewer { email } }`, nil) }()
	<-reached // the request is in flight, waiting on Auth0
	stopped := make(chan error, 1)
	go func() { stopped <- e.stop() }()
	time.Sleep(100 * time.Millisecond) // shutdown under way (if not, the test only gets weaker)
	close(hold)

	r := <-done
	if r.Status != http.StatusOK || path(r.Data, "viewer", "email") != "new@example.com" {
		t.Fatalf("in-flight request during shutdown: %d %s", r.Status, r.Raw)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v after shutdown", err)
	}
	if _, err := http.Get(e.url + "/healthz"); err == nil {
		t.Fatal("server still accepting connections after shutdown")
	}
}

// On SIGTERM readiness fails first and requests are still served for
// SHUTDOWN_DELAY, so the load balancer stops sending before the listener
// closes; then the server drains.
func TestShutdownFailsReadinessBeforeDraining(t *testing.T) {
	e := startService(t, withEnv("SHUTDOWN_DELAY", "1500ms"))
	token := e.login("new@example.com")
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- e.stop() }()

	deadline := time.Now().Add(time.Second)
	for {
		resp, err := http.Get(e.url + "/readyz")
		if err != nil {
			t.Fatalf("/readyz during the drain delay: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(b), `"status":"shutting_down"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after SIGTERM: %d %s, want 503 shutting_down", resp.StatusCode, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := e.gql(token, `{ viewer { email } }`, nil); path(r.Data, "viewer", "email") != "new@example.com" {
		t.Fatalf("request during the drain delay: %d %s", r.Status, r.Raw)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Fatalf("stopped after %s, before SHUTDOWN_DELAY", took)
	}
	if _, err := http.Get(e.url + "/healthz"); err == nil {
		t.Fatal("still accepting connections after the drain")
	}
}

// Dev mode serves tokens for every seeded user: it listens on loopback
// unless BIND_ADDR says otherwise. Production takes BIND_ADDR too.
func TestListensOnBindAddr(t *testing.T) {
	// The "listening" line follows the banner runService waits for.
	listenLog := func(e *testEnv) string {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if l := e.logs.String(); strings.Contains(l, "listening") {
				return l
			}
		}
		return e.logs.String()
	}
	dev := runService(t, map[string]string{"PORT": "0", "DEV_AUTH0_ADDR": "127.0.0.1:0"})
	if !strings.HasPrefix(dev.url, "http://127.0.0.1:") {
		t.Errorf("dev mode listens on %s, want loopback", dev.url)
	}
	if !strings.Contains(listenLog(dev), "addr=127.0.0.1:") {
		t.Errorf("dev mode's listen address not loopback in the log:\n%s", dev.logs.String())
	}
	prod := startService(t, withEnv("BIND_ADDR", "127.0.0.1"))
	if !strings.HasPrefix(prod.url, "http://127.0.0.1:") || !strings.Contains(listenLog(prod), `"addr":"127.0.0.1:`) {
		t.Errorf("BIND_ADDR=127.0.0.1 listens on %s; logs:\n%s", prod.url, prod.logs.String())
	}
	wild := startService(t)
	if l := listenLog(wild); !strings.Contains(l, `"addr":"[::]:`) && !strings.Contains(wild.logs.String(), `"addr":"0.0.0.0:`) {
		t.Errorf("production without BIND_ADDR is not on every interface; logs:\n%s", wild.logs.String())
	}
}

// Production without REDIS_URL refuses to start; REDIS_EMBEDDED=true runs
// an in-process Redis and says so in the log (WARN) and the banner.
func TestProductionRedisIsExplicit(t *testing.T) {
	_, _, env := testTenant(t)
	delete(env, "REDIS_URL")
	err := run(t.Context(), func(k string) string { return env[k] }, &syncbuf.Buffer{}, &syncbuf.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "REDIS_URL is required") {
		t.Fatalf("production without REDIS_URL: %v", err)
	}

	env["REDIS_EMBEDDED"] = "true"
	e := runService(t, env)
	if !strings.Contains(e.out.String(), "WARNING: REDIS_EMBEDDED=true") {
		t.Errorf("banner does not say Redis is in-process:\n%s", e.out.String())
	}
	if !strings.Contains(e.logs.String(), `"level":"WARN","msg":"REDIS_EMBEDDED=true`) {
		t.Errorf("no WARN about the in-process Redis:\n%s", e.logs.String())
	}
	if code := get(t, e.url+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with the embedded Redis: %d", code)
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
