package auth0emu

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// golang.org/x/oauth2 sends the credentials by HTTP Basic first (query
// escaped) and falls back to the body; both, and a JSON body, must work.
func TestClientCredentialsEveryAuthStyle(t *testing.T) {
	s := start(t, Config{ClientID: "id with spaces+plus", ClientSecret: "s3cr/t&="})
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cfg := clientcredentials.Config{
			ClientID: s.Config().ClientID, ClientSecret: s.Config().ClientSecret,
			TokenURL:       s.URL() + "/oauth/token",
			EndpointParams: url.Values{"audience": {s.ManagementAudience()}},
			AuthStyle:      style,
		}
		tok, err := cfg.Token(context.Background())
		if err != nil {
			t.Fatalf("style %v: %v", style, err)
		}
		if _, err := verifyWithJWKS(t, s, tok.AccessToken, s.ManagementAudience()); err != nil {
			t.Errorf("style %v: token does not verify: %v", style, err)
		}
	}
	body, _ := json.Marshal(map[string]string{
		"grant_type": "client_credentials", "client_id": s.Config().ClientID,
		"client_secret": s.Config().ClientSecret, "audience": s.ManagementAudience(),
	})
	r := do(t, http.MethodPost, s.URL()+"/oauth/token", http.Header{"Content-Type": {"application/json"}}, string(body))
	if r.status != http.StatusOK || r.json(t)["access_token"] == nil {
		t.Errorf("JSON body: %d %s", r.status, r.body)
	}
}

func TestManagementTokenClaims(t *testing.T) {
	s := start(t, Config{})
	raw := managementToken(t, s, "")
	claims, err := verifyWithJWKS(t, s, raw, s.ManagementAudience())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	want := map[string]any{
		"iss": s.Issuer(), "sub": s.Config().ClientID + "@clients", "aud": s.ManagementAudience(),
		"scope": "read:users update:users create:users", "gty": "client-credentials", "azp": s.Config().ClientID,
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	h := tokenHeader(t, raw)
	kid, _ := s.SigningKey()
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] != kid {
		t.Errorf("header %v", h)
	}
	if !strings.HasSuffix(s.Issuer(), "/") || s.Issuer() != s.URL()+"/" {
		t.Errorf("issuer %q must be URL()+\"/\"", s.Issuer())
	}
}

func TestClientCredentialsErrors(t *testing.T) {
	s := start(t, Config{})
	base := func() url.Values {
		return url.Values{
			"grant_type": {"client_credentials"}, "client_id": {s.Config().ClientID},
			"client_secret": {s.Config().ClientSecret}, "audience": {s.ManagementAudience()},
		}
	}
	cases := []struct {
		name   string
		edit   func(url.Values)
		status int
		code   string
	}{
		{"wrong secret", func(v url.Values) { v.Set("client_secret", "nope") }, 401, "access_denied"},
		{"unknown client", func(v url.Values) { v.Set("client_id", "other") }, 401, "access_denied"},
		{"unknown audience", func(v url.Values) { v.Set("audience", "https://elsewhere/") }, 403, "access_denied"},
		{"no audience", func(v url.Values) { v.Del("audience") }, 403, "access_denied"},
		{"scope not granted", func(v url.Values) { v.Set("scope", "delete:users") }, 403, "access_denied"},
		{"unsupported grant", func(v url.Values) { v.Set("grant_type", "urn:ietf:params:oauth:grant-type:device_code") }, 400, "unsupported_grant_type"},
		{"missing grant", func(v url.Values) { v.Del("grant_type") }, 400, "invalid_request"},
	}
	for _, c := range cases {
		v := base()
		c.edit(v)
		r := postForm(t, s, v, nil)
		body := r.json(t)
		if r.status != c.status || body["error"] != c.code || body["error_description"] == "" {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
		}
	}
	r := postForm(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {"y"}, "audience": {s.ManagementAudience()}}, nil)
	if got := r.json(t); got["error_description"] != "Unauthorized" {
		t.Errorf("unknown client body %s, want Auth0's Unauthorized", r.body)
	}
}

// client_credentials for the service's own API yields a token that is not a
// user's: sub ends in @clients and there is no Management scope.
func TestMachineToMachineToken(t *testing.T) {
	s := start(t, Config{})
	r := postForm(t, s, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {s.Config().ClientID},
		"client_secret": {s.Config().ClientSecret}, "audience": {testAudience},
	}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	claims, err := verifyWithJWKS(t, s, r.json(t)["access_token"].(string), testAudience)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if claims["sub"] != s.Config().ClientID+"@clients" || claims["gty"] != "client-credentials" || claims["aud"] != testAudience {
		t.Errorf("claims %v", claims)
	}
	// It opens no Management API door.
	got := do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(r.json(t)["access_token"].(string)), "")
	wantAPIError(t, got, http.StatusUnauthorized, "")
}

func TestPasswordGrantIssuesUserTokenAndCountsLogin(t *testing.T) {
	now := time.Date(2026, 11, 29, 1, 7, 48, 123_000_000, time.UTC)
	clock := now
	s := start(t, Config{Now: func() time.Time { return clock }})
	before, _ := s.User(SeedReturningUserID)

	r := passwordLogin(t, s, "Returning@Example.com", SeedPassword)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	body := r.json(t)
	if body["token_type"] != "Bearer" || body["expires_in"] != float64(86400) || body["scope"] != "openid profile email" || body["id_token"] == nil {
		t.Errorf("token response %s", r.body)
	}
	raw := body["access_token"].(string)
	claims, err := verifyWithJWKS(t, s, raw, testAudience)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if claims["sub"] != SeedReturningUserID || claims["iss"] != s.Issuer() || claims["azp"] != s.Config().ClientID ||
		claims["scope"] != "openid profile email" || !reflect.DeepEqual(claims["permissions"], []any{}) {
		t.Errorf("claims %v", claims)
	}
	if !reflect.DeepEqual(claims["aud"], []any{testAudience, s.URL() + "/userinfo"}) {
		t.Errorf("aud %v", claims["aud"])
	}
	if claims["iat"] != float64(now.Unix()) || claims["exp"] != float64(now.Add(24*time.Hour).Unix()) {
		t.Errorf("iat %v exp %v", claims["iat"], claims["exp"])
	}
	if h := tokenHeader(t, raw); h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] == nil {
		t.Errorf("header %v", h)
	}

	after, _ := s.User(SeedReturningUserID)
	if after["logins_count"] != before["logins_count"].(float64)+1 {
		t.Errorf("logins_count %v → %v", before["logins_count"], after["logins_count"])
	}
	if after["last_login"] != "2026-11-29T01:07:48.123Z" {
		t.Errorf("last_login = %v", after["last_login"])
	}
	if !mustParseTime(t, after["updated_at"]).After(mustParseTime(t, before["updated_at"])) {
		t.Errorf("updated_at did not move: %v → %v", before["updated_at"], after["updated_at"])
	}

	// A second login in the same millisecond still moves updated_at.
	passwordLogin(t, s, "returning@example.com", SeedPassword)
	again, _ := s.User(SeedReturningUserID)
	if !mustParseTime(t, again["updated_at"]).After(mustParseTime(t, after["updated_at"])) || again["logins_count"] != float64(5) {
		t.Errorf("second login: updated_at %v → %v, logins %v", after["updated_at"], again["updated_at"], again["logins_count"])
	}
}

func TestPasswordRealmGrantAndWithoutOpenID(t *testing.T) {
	s := start(t, Config{})
	r := postForm(t, s, url.Values{
		"grant_type": {grantPasswordRealm}, "client_id": {s.Config().ClientID},
		"client_secret": {s.Config().ClientSecret}, "realm": {"google-oauth2"},
		"username": {"social@example.com"}, "password": {SeedPassword},
		"audience": {testAudience}, "scope": {"read:profile"},
	}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	body := r.json(t)
	if body["id_token"] != nil {
		t.Errorf("id_token issued without openid")
	}
	claims, err := verifyWithJWKS(t, s, body["access_token"].(string), testAudience)
	if err != nil {
		t.Fatal(err)
	}
	if claims["aud"] != testAudience || claims["sub"] != SeedSocialUserID {
		t.Errorf("aud %v sub %v: without openid aud is the API alone", claims["aud"], claims["sub"])
	}
	u, _ := s.User(SeedSocialUserID)
	if u["logins_count"] != float64(2) {
		t.Errorf("logins_count %v, want 2", u["logins_count"])
	}
}

func TestPasswordGrantErrors(t *testing.T) {
	s := start(t, Config{})
	form := func(edit func(url.Values)) url.Values {
		v := url.Values{
			"grant_type": {"password"}, "client_id": {s.Config().ClientID},
			"username": {"new@example.com"}, "password": {SeedPassword},
		}
		edit(v)
		return v
	}
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
		desc   string
	}{
		{"wrong password", form(func(v url.Values) { v.Set("password", "nope") }), 403, "invalid_grant", "Wrong email or password."},
		{"unknown user", form(func(v url.Values) { v.Set("username", "ghost@example.com") }), 403, "invalid_grant", "Wrong email or password."},
		{"wrong realm", form(func(v url.Values) {
			v.Set("grant_type", grantPasswordRealm)
			v.Set("realm", "google-oauth2")
		}), 403, "invalid_grant", "Wrong email or password."},
		{"realm missing", form(func(v url.Values) { v.Set("grant_type", grantPasswordRealm) }), 400, "invalid_request", "Missing required parameter: realm"},
		{"unknown client", form(func(v url.Values) { v.Set("client_id", "someone-else") }), 401, "access_denied", "Unauthorized"},
		{"wrong client secret", form(func(v url.Values) { v.Set("client_secret", "bad") }), 401, "access_denied", "Unauthorized"},
		{"other audience", form(func(v url.Values) { v.Set("audience", "https://other.example/") }), 403, "access_denied", "Service not found: https://other.example/"},
	}
	for _, c := range cases {
		r := postForm(t, s, c.form, nil)
		got := r.json(t)
		if r.status != c.status || got["error"] != c.code || got["error_description"] != c.desc {
			t.Errorf("%s: %d %s, want %d %s %q", c.name, r.status, r.body, c.status, c.code, c.desc)
		}
	}
	if u, _ := s.User(SeedNewUserID); u["logins_count"] != nil {
		t.Errorf("failed logins were counted: %v", u["logins_count"])
	}
}

func TestBlockedUserCannotLogIn(t *testing.T) {
	s := start(t, Config{})
	r := do(t, http.MethodPatch, userURL(s, SeedNewUserID), http.Header{
		"Authorization": {"Bearer " + managementToken(t, s, "")}, "Content-Type": {"application/json"},
	}, `{"blocked":true}`)
	if r.status != http.StatusOK {
		t.Fatalf("block: %d %s", r.status, r.body)
	}
	got := passwordLogin(t, s, "new@example.com", SeedPassword)
	if got.status != http.StatusUnauthorized || got.json(t)["error"] != "unauthorized" {
		t.Errorf("blocked login: %d %s", got.status, got.body)
	}
}

func TestIssueAccessTokenDoesNotCountALogin(t *testing.T) {
	s := start(t, Config{})
	raw, err := s.IssueAccessToken(SeedNewUserID)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := verifyWithJWKS(t, s, raw, testAudience)
	if err != nil || claims["sub"] != SeedNewUserID {
		t.Fatalf("claims %v err %v", claims, err)
	}
	if u, _ := s.User(SeedNewUserID); u["logins_count"] != nil || u["last_login"] != nil {
		t.Errorf("IssueAccessToken counted a login: %v %v", u["logins_count"], u["last_login"])
	}
	if _, err := s.IssueAccessToken("auth0|nobody"); err == nil {
		t.Errorf("token for a missing user")
	}
}

func TestUserinfo(t *testing.T) {
	s := start(t, Config{})
	raw, _ := s.IssueAccessToken(SeedSocialUserID)
	r := do(t, http.MethodGet, s.URL()+"/userinfo", bearer(raw), "")
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := r.json(t)
	if got["sub"] != SeedSocialUserID || got["given_name"] != "Grace" || got["email"] != "social@example.com" {
		t.Errorf("userinfo %v", got)
	}
	if r := do(t, http.MethodGet, s.URL()+"/userinfo", bearer(managementToken(t, s, "")), ""); r.status != http.StatusUnauthorized {
		t.Errorf("management token accepted by /userinfo: %d", r.status)
	}
}
