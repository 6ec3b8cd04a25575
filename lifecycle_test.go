package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/auth0emu"
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
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with Redis up: %d %s", code, body)
	}
	e.redis.Stop()
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with Redis down: %d, want 503", code)
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
