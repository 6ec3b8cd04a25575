package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/figures"
)

// Clients that give up mid-request cost no Auth0 read when the user is
// cached, and are not logged as internal errors: a cancelled request is
// the client's choice, not a fault. Redis is paused so that the clients,
// which leave after 2 ms, do so while their cache read is in flight: that
// read fails with the client's own cancellation, which must not send the
// request on to Auth0.
func TestDisconnectsCostNoAuth0ReadAndNoErrorLog(t *testing.T) {
	e := startService(t)
	token := e.login("returning@example.com")
	e.viewer(token, "") // warm
	e.emu.ResetCounters()
	e.redis.Pause()
	defer e.redis.Resume()

	const clients = 64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
			defer cancel()
			body, _ := json.Marshal(map[string]any{"query": promptQuery})
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // any detached fill would have reached Auth0 by now
	e.redis.Resume()
	reads := e.emu.Count(auth0emu.RouteGetUser)
	internal := strings.Count(e.logs.String(), `"internal error"`) + strings.Count(e.logs.String(), "msg=\"internal error\"")
	figures.Report(t, "client disconnects: %d clients left after 2 ms, %d Auth0 reads, %d internal-error log lines", clients, reads, internal)
	if reads != 0 {
		t.Errorf("%d disconnected clients of a cached user caused %d Auth0 reads, want 0", clients, reads)
	}
	if internal != 0 {
		t.Errorf("client disconnects were logged as internal errors %d times:\n%s", internal, e.logs.String())
	}
}
