package auth0emu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/testkit"

	"github.com/auth0/go-auth0/management"
)

func TestManagementAPIAuthentication(t *testing.T) {
	s := start(t, Config{})
	userToken, _ := s.IssueAccessToken(SeedNewUserID)
	cases := []struct {
		name   string
		header http.Header
	}{
		{"no header", nil},
		{"basic scheme", http.Header{"Authorization": {"Basic Zm9vOmJhcg=="}}},
		{"garbage", bearer("not.a.jwt")},
		{"user access token", bearer(userToken)},
	}
	for _, c := range cases {
		r := do(t, http.MethodGet, userURL(s, SeedNewUserID), c.header, "")
		wantAPIError(t, r, http.StatusUnauthorized, "")
		if r.header.Get("X-RateLimit-Limit") == "" {
			t.Errorf("%s: 401 without X-RateLimit headers", c.name)
		}
	}
}

// A token that verified once is still checked on every use: it expires on
// the emulator's clock, and it is no token for another audience.
func TestVerifiedTokenIsCheckedAgain(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := start(t, Config{Now: clock.Now, TokenTTL: time.Hour})
	tok := managementToken(t, s, "")
	for range 2 {
		if r := do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(tok), ""); r.status != http.StatusOK {
			t.Fatalf("fresh token: %d %s", r.status, r.body)
		}
	}
	if r := do(t, http.MethodGet, s.URL()+"/userinfo", bearer(tok), ""); r.status != http.StatusUnauthorized {
		t.Errorf("a Management API token at /userinfo: %d", r.status)
	}
	clock.Add(time.Hour + time.Second)
	body := wantAPIError(t, do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(tok), ""), http.StatusUnauthorized, "")
	if body["message"] != "Expired token received for JSON Web Token validation" {
		t.Errorf("expired token: %v", body)
	}
}

func TestManagementAPIScopes(t *testing.T) {
	s := start(t, Config{})
	readOnly := managementToken(t, s, "read:users")
	if r := do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(readOnly), ""); r.status != http.StatusOK {
		t.Fatalf("read with read:users: %d", r.status)
	}
	h := bearer(readOnly)
	h.Set("Content-Type", "application/json")
	body := wantAPIError(t, do(t, http.MethodPatch, userURL(s, SeedNewUserID), h, `{"user_metadata":{"a":1}}`), http.StatusForbidden, "insufficient_scope")
	if body["message"] != "Insufficient scope, expected any of: update:users" {
		t.Errorf("message %v", body["message"])
	}
	wantAPIError(t, do(t, http.MethodPost, s.URL()+"/api/v2/users", h, `{"connection":"x"}`), http.StatusForbidden, "insufficient_scope")
	if u, _ := s.User(SeedNewUserID); u["user_metadata"] != nil {
		t.Errorf("a forbidden PATCH was applied")
	}
	// The PATCH was still received and recorded.
	if p := s.Patches(); len(p) != 1 || p[0].UserID != SeedNewUserID || string(p[0].Body) != `{"user_metadata":{"a":1}}` {
		t.Errorf("patches %+v", p)
	}
}

// Ids arrive escaped; routing happens on the escaped path.
func TestEscapedUserIDs(t *testing.T) {
	s := start(t, Config{})
	if _, err := s.CreateUser(NewUser{ID: "auth0|with/slash", Connection: DatabaseConnection, Email: "slash@example.com", Password: "x"}); err != nil {
		t.Fatal(err)
	}
	tok := bearer(managementToken(t, s, ""))
	cases := []struct {
		path   string
		status int
		id     string
	}{
		{"/api/v2/users/auth0%7C65f0c0ffee00000000000001", 200, SeedNewUserID},
		{"/api/v2/users/auth0|65f0c0ffee00000000000001", 200, SeedNewUserID}, // as curl sends it
		{"/api/v2/users/google-oauth2%7C109876543210987654321", 200, SeedSocialUserID},
		{"/api/v2/users/auth0%7Cwith%2Fslash", 200, "auth0|with/slash"},
		{"/api/v2/users/auth0%7Cwith/slash", 404, ""},
		{"/api/v2/users/auth0%7C65f0c0ffee00000000000001/roles", 404, ""},
		{"/api/v2/users/", 404, ""},
	}
	for _, c := range cases {
		r := do(t, http.MethodGet, s.URL()+c.path, tok, "")
		if r.status != c.status {
			t.Errorf("%s: %d, want %d (%s)", c.path, r.status, c.status, r.body)
			continue
		}
		if c.id != "" && r.json(t)["user_id"] != c.id {
			t.Errorf("%s: user %v", c.path, r.json(t)["user_id"])
		}
	}
	// The SDK escapes a slash as %2F and finds the user too.
	u, err := sdk(t, s).User.Read(context.Background(), "auth0|with/slash")
	if err != nil || u.GetEmail() != "slash@example.com" {
		t.Errorf("SDK read of an id with a slash: %v %v", u, err)
	}
}

func TestUnknownUserAndRouteErrors(t *testing.T) {
	s := start(t, Config{})
	tok := bearer(managementToken(t, s, ""))
	body := wantAPIError(t, do(t, http.MethodGet, userURL(s, "auth0|nobody"), tok, ""), http.StatusNotFound, "inexistent_user")
	if body["message"] != "The user does not exist." {
		t.Errorf("message %v", body["message"])
	}
	h := tok.Clone()
	h.Set("Content-Type", "application/json")
	wantAPIError(t, do(t, http.MethodPatch, userURL(s, "auth0|nobody"), h, `{"user_metadata":{"a":1}}`), http.StatusNotFound, "inexistent_user")
	wantAPIError(t, do(t, http.MethodGet, s.URL()+"/api/v2/clients", tok, ""), http.StatusNotFound, "")
}

func TestFieldsAndIncludeFields(t *testing.T) {
	s := start(t, Config{})
	tok := bearer(managementToken(t, s, ""))
	get := func(q url.Values) httpResult {
		return do(t, http.MethodGet, userURL(s, SeedReturningUserID)+"?"+q.Encode(), tok, "")
	}
	inc := get(url.Values{"fields": {"user_id,email,user_metadata"}, "include_fields": {"true"}}).json(t)
	if len(inc) != 3 || inc["email"] != "returning@example.com" || inc["user_metadata"] == nil {
		t.Errorf("include: %v", inc)
	}
	def := get(url.Values{"fields": {"email"}}).json(t)
	if len(def) != 1 || def["email"] == nil {
		t.Errorf("include_fields defaults to true: %v", def)
	}
	exc := get(url.Values{"fields": {"app_metadata,identities"}, "include_fields": {"false"}}).json(t)
	if _, has := exc["app_metadata"]; has || exc["identities"] != nil || exc["email"] == nil {
		t.Errorf("exclude: %v", exc)
	}
	wantAPIError(t, get(url.Values{"fields": {"email"}, "include_fields": {"yes"}}), http.StatusBadRequest, "invalid_query_string")
	wantAPIError(t, get(url.Values{"q": {"email:x"}}), http.StatusBadRequest, "invalid_query_string")

	// The SDK's IncludeFields option speaks the same language.
	u, err := sdk(t, s).User.Read(context.Background(), SeedReturningUserID, management.IncludeFields("user_id", "logins_count"))
	if err != nil || u.GetLoginsCount() != 3 || u.Email != nil {
		t.Errorf("SDK IncludeFields: %+v %v", u, err)
	}
}

// The token bucket: headers on every /api/v2 answer, 429 with Auth0's body
// when empty, and refill over time (driven by Config.Now).
func TestRateLimitTokenBucket(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := start(t, Config{RateLimit: 2, RateBurst: 3, Now: clock.Now})
	tok := bearer(managementToken(t, s, ""))
	var remaining []string
	for range 3 {
		r := do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, "")
		if r.status != http.StatusOK {
			t.Fatalf("within burst: %d", r.status)
		}
		if r.header.Get("X-RateLimit-Limit") != "3" {
			t.Errorf("X-RateLimit-Limit %q", r.header.Get("X-RateLimit-Limit"))
		}
		remaining = append(remaining, r.header.Get("X-RateLimit-Remaining"))
	}
	if !slices.Equal(remaining, []string{"2", "1", "0"}) {
		t.Errorf("X-RateLimit-Remaining %v, want 2 1 0", remaining)
	}
	r := do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, "")
	body := wantAPIError(t, r, http.StatusTooManyRequests, "too_many_requests")
	if body["message"] != "Global limit has been reached" {
		t.Errorf("429 message %v", body["message"])
	}
	reset, err := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil || reset < clock.Now().Unix()+1 || reset > clock.Now().Unix()+2 {
		t.Errorf("X-RateLimit-Reset %q, want unix seconds when full (now+1.5s rounded up)", r.header.Get("X-RateLimit-Reset"))
	}
	if r.header.Get("Retry-After") != "1" || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("Retry-After %q Remaining %q", r.header.Get("Retry-After"), r.header.Get("X-RateLimit-Remaining"))
	}
	// The SDK sees a management.Error with status 429.
	_, err = sdk(t, s).User.Read(context.Background(), SeedNewUserID)
	var mErr management.Error
	if !errors.As(err, &mErr) || mErr.Status() != http.StatusTooManyRequests {
		t.Errorf("SDK err %v, want 429", err)
	}
	clock.Add(time.Second) // two tokens back
	if r := do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, ""); r.status != http.StatusOK {
		t.Errorf("after refill: %d", r.status)
	}
	if n := s.Count(RouteGetUser); n != 6 {
		t.Errorf("Count(GET user) %d, want 6 (429s are counted)", n)
	}
}

// The presets are Auth0's published limits; "free" refuses the third call
// of a burst, explicit values win over a preset, and an unknown name is
// refused with the names it could have been.
func TestRatePresets(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := start(t, Config{RatePreset: "free", Now: clock.Now})
	if c := s.Config(); c.RateLimit != 2 || c.RateBurst != 2 {
		t.Errorf("free: rate %v burst %d, want 2 and 2", c.RateLimit, c.RateBurst)
	}
	tok := bearer(managementToken(t, s, ""))
	var statuses []int
	for range 3 {
		statuses = append(statuses, do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, "").status)
	}
	if fmt.Sprint(statuses) != "[200 200 429]" {
		t.Errorf("free tenant burst: %v, want [200 200 429]", statuses)
	}
	clock.Add(500 * time.Millisecond) // one token back at 2/s
	if r := do(t, http.MethodGet, userURL(s, SeedNewUserID), tok, ""); r.status != http.StatusOK {
		t.Errorf("after 500ms: %d", r.status)
	}

	for name, want := range map[string][2]float64{"dev": {0.5, 5}, "paid": {16, 50}} {
		e, err := New(Config{RatePreset: name})
		if err != nil {
			t.Fatal(err)
		}
		if c := e.Config(); c.RateLimit != want[0] || float64(c.RateBurst) != want[1] {
			t.Errorf("%s: rate %v burst %d, want %v", name, c.RateLimit, c.RateBurst, want)
		}
	}
	if e, err := New(Config{RatePreset: "dev", RateBurst: 1}); err != nil || e.Config().RateBurst != 1 || e.Config().RateLimit != 0.5 {
		t.Errorf("explicit burst over a preset: %+v %v", e.Config(), err)
	}
	if _, err := New(Config{RatePreset: "enterprise"}); err == nil || !strings.Contains(err.Error(), "free, dev, paid") {
		t.Errorf("unknown preset: %v", err)
	}
}
