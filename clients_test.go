package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/progressive-profiling/bff/internal/auth0emu"
)

// Browsers preflight every header a client adds; one missing from the
// allow-list fails the whole request. These are what OpenTelemetry's web
// instrumentation and Apollo Client send.
func TestCORSPreflightAdmitsRealClientHeaders(t *testing.T) {
	const origin = "https://app.example.com"
	e := startService(t, withEnv("CORS_ALLOWED_ORIGINS", origin))
	sent := []string{"authorization", "content-type", "traceparent", "tracestate",
		"apollographql-client-name", "apollographql-client-version", "x-request-id"}
	// Browsers send the list lower-cased and sorted (Fetch standard).
	slices.Sort(sent)
	req, _ := http.NewRequest(http.MethodOptions, e.url+"/graphql", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	req.Header.Set("Access-Control-Request-Headers", strings.Join(sent, ","))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("preflight with the real clients' headers refused: %d %v", resp.StatusCode, resp.Header)
	}
	allowed := strings.Split(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), ",")
	for i := range allowed {
		allowed[i] = strings.TrimSpace(allowed[i])
	}
	for _, h := range sent {
		if !slices.Contains(allowed, h) {
			t.Errorf("header %s not admitted (allowed: %v)", h, allowed)
		}
	}
}

// Dev mode admits the React example's Vite dev server, and its emulator's
// Universal Login admits the same origins.
func TestDevCORSAdmitsViteDevServer(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"http://localhost:5173", "http://127.0.0.1:5173"} {
		if !slices.Contains(c.CORSOrigins, o) {
			t.Errorf("dev CORS origins %v lack %s", c.CORSOrigins, o)
		}
	}
	if !slices.Equal(c.CORSOrigins, auth0emu.DevWebOrigins) {
		t.Errorf("dev CORS origins %v differ from the emulator's web origins %v", c.CORSOrigins, auth0emu.DevWebOrigins)
	}
}

// The SDL is served in production, where introspection is off, and is the
// committed schema.graphqls byte for byte.
func TestSchemaServedWhileIntrospectionIsOff(t *testing.T) {
	e := startService(t) // production mode: INTROSPECTION defaults off
	want, err := os.ReadFile("schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.url + "/schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /schema.graphql: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal(got, want) {
		t.Errorf("served SDL (%d bytes) differs from schema.graphqls (%d bytes)", len(got), len(want))
	}
	r := e.gql(e.login("new@example.com"), `{ __schema { types { name } } }`, nil)
	if r.Status != http.StatusUnprocessableEntity {
		t.Errorf("introspection in production: %d, want 422", r.Status)
	}
}
