package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/progressive-profiling/bff/internal/auth0emu"
)

// clientToken is a client-credentials token for the API, as a product
// team's tool would get one.
func clientToken(t *testing.T, emulatorURL string) string {
	t.Helper()
	resp, err := http.PostForm(emulatorURL+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {testClientID},
		"client_secret": {testClientSecret}, "audience": {testAudience},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("client credentials: %d %v", resp.StatusCode, err)
	}
	return body.AccessToken
}

func dryRun(t *testing.T, e *testEnv, token string, body map[string]any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/rules/explain", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// The dry-run over the API answers what production answers: for a seeded
// user described as Auth0 returns them, the fields it says are pending in
// context article are the ones the real prompt asks, and it makes no Auth0
// call. Only trusted tools may use it.
func TestDryRunOverTheAPIMatchesTheRealPrompt(t *testing.T) {
	e := startService(t)
	user, _ := e.emu.User(auth0emu.SeedReturningUserID)
	userToken := e.login("returning@example.com")
	real := keys(e.viewer(userToken, "article")["pendingFields"])
	described, _ := e.emu.User(auth0emu.SeedReturningUserID) // the login above counted

	e.emu.ResetCounters()
	status, out := dryRun(t, e, clientToken(t, e.emu.URL()), map[string]any{"user": described, "context": "article"})
	if status != http.StatusOK {
		t.Fatalf("dry-run: %d %v", status, out)
	}
	if got := toStrings(out["pending"]); !equal(got, real) {
		t.Fatalf("dry-run says pending %v, the real prompt asks %v", got, real)
	}
	if n := e.emu.Count(auth0emu.RouteGetUser) + e.emu.Count(auth0emu.RoutePatchUser); n != 0 {
		t.Fatalf("the dry-run made %d Management API calls, want 0", n)
	}
	// The explanation says pending for exactly those fields.
	var explainedPending []string
	for _, f := range out["fields"].([]any) {
		if f := f.(map[string]any); f["pending"] == true {
			explainedPending = append(explainedPending, f["key"].(string))
		}
	}
	slices.Sort(explainedPending)
	sortedReal := slices.Sorted(slices.Values(real))
	if !equal(explainedPending, sortedReal) || out["rulesVersion"] == "" {
		t.Fatalf("the explanation marks %v pending, the prompt asks %v (answer %v)", explainedPending, sortedReal, out)
	}

	// A rules file of the caller's, checked as start-up checks one.
	status, out = dryRun(t, e, clientToken(t, e.emu.URL()), map[string]any{"user": user, "rules": "policy: {maxFieldsPerPrompt: 0}\n"})
	if status != http.StatusUnprocessableEntity || !strings.Contains(out["error"].(string), "request rules") {
		t.Fatalf("bad rules: %d %v", status, out)
	}
	// Only trusted tools: an end user's token, no token, a bad body.
	if status, out := dryRun(t, e, userToken, map[string]any{"user": user}); status != http.StatusForbidden {
		t.Fatalf("an end user's token: %d %v", status, out)
	}
	if status, _ := dryRun(t, e, "", map[string]any{"user": user}); status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", status)
	}
	if status, out := dryRun(t, e, clientToken(t, e.emu.URL()), map[string]any{"context": "article"}); status != http.StatusBadRequest {
		t.Fatalf("no user: %d %v", status, out)
	}
}

// A client-credentials token without the permission is refused.
func TestDryRunNeedsItsPermission(t *testing.T) {
	emu, _, env := testTenantWith(t, auth0emu.Config{APIScopes: []string{}})
	e := runService(t, env)
	user, _ := emu.User(auth0emu.SeedNewUserID)
	if status, out := dryRun(t, e, clientToken(t, emu.URL()), map[string]any{"user": user}); status != http.StatusForbidden ||
		!strings.Contains(out["error"].(string), "profiling:explain") {
		t.Fatalf("a client without the permission: %d %v", status, out)
	}
}
