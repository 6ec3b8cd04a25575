package auth0emu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/testkit"
)

const (
	testCallback = "http://localhost:5173/"
	testVerifier = "a-code-verifier-of-at-least-forty-three-characters-0123456789"
)

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// browser is a cookie-keeping client that does not follow redirects, so a
// test sees every hop of the login as a browser makes it.
type browser struct {
	t      *testing.T
	s      *Server
	client *http.Client
}

func newBrowser(t *testing.T, s *Server) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, s: s, client: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(method, rawURL string, form url.Values) httpResult {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: data}
}

// authorizeParams is what auth0-spa-js's loginWithRedirect sends.
func authorizeParams(extra ...string) url.Values {
	v := url.Values{
		"client_id":             {DefaultClientID},
		"redirect_uri":          {testCallback},
		"response_type":         {"code"},
		"response_mode":         {"query"},
		"scope":                 {"openid profile email offline_access"},
		"audience":              {testAudience},
		"state":                 {"c3RhdGU+/=&x"},
		"nonce":                 {"bm9uY2U"},
		"code_challenge":        {s256(testVerifier)},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			v.Del(extra[i])
		} else {
			v.Set(extra[i], extra[i+1])
		}
	}
	return v
}

func (b *browser) authorize(p url.Values) httpResult {
	b.t.Helper()
	return b.do(http.MethodGet, b.s.URL()+"/authorize?"+p.Encode(), nil)
}

var txField = regexp.MustCompile(`name="state" value="([^"]+)"`)

// submit fills the hosted page's form (login or signup) and posts it.
func (b *browser) submit(pageBody []byte, screen, email, password string) httpResult {
	b.t.Helper()
	m := txField.FindSubmatch(pageBody)
	if m == nil {
		b.t.Fatalf("no login form in %s", pageBody)
	}
	return b.do(http.MethodPost, b.s.URL()+"/u/"+screen, url.Values{
		"state": {string(m[1])}, "email": {email}, "password": {password},
	})
}

// login runs the hosted login to the redirect back and returns the query
// the app receives.
func (b *browser) login(p url.Values, email string) url.Values {
	b.t.Helper()
	page := b.authorize(p)
	if page.status != http.StatusOK {
		b.t.Fatalf("authorize: %d %s", page.status, page.body)
	}
	return b.callback(b.submit(page.body, "login", email, SeedPassword), p.Get("redirect_uri"))
}

// callback checks a redirect to the app and returns its query.
func (b *browser) callback(r httpResult, redirectURI string) url.Values {
	b.t.Helper()
	if r.status != http.StatusFound {
		b.t.Fatalf("status %d, want a redirect to the app: %s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, redirectURI+"?") {
		b.t.Fatalf("redirected to %q, want %s?...", loc, redirectURI)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

func exchangeCode(t *testing.T, s *Server, code, verifier, redirectURI string, extra ...string) httpResult {
	t.Helper()
	form := url.Values{
		"grant_type": {"authorization_code"}, "client_id": {DefaultClientID}, "code": {code},
		"code_verifier": {verifier}, "redirect_uri": {redirectURI},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return postForm(t, s, form, nil)
}

func claimsOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func wantOAuthError(t *testing.T, r httpResult, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if got := r.json(t)["error"]; got != code {
		t.Fatalf("error %v, want %q: %s", got, code, r.body)
	}
}

func pinnedClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC))
}

func TestAuthorizationCodeFlowWithPKCE(t *testing.T) {
	clock := pinnedClock()
	s := start(t, Config{Now: clock.Now})
	b := newBrowser(t, s)

	page := b.authorize(authorizeParams())
	if page.status != http.StatusOK || !strings.Contains(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("authorize: %d %s", page.status, page.body)
	}
	if page.header.Get("X-Frame-Options") != "DENY" || !strings.Contains(string(page.body), `<form method="post" action="/u/login">`) {
		t.Errorf("login page must be an unframeable plain form: %v %s", page.header, page.body)
	}
	clock.Add(5 * time.Second)
	q := b.callback(b.submit(page.body, "login", "NEW@example.com", SeedPassword), testCallback)
	if q.Get("state") != "c3RhdGU+/=&x" {
		t.Errorf("state %q, want it returned untouched", q.Get("state"))
	}
	sessionSet := false
	for _, c := range b.client.Jar.Cookies(mustURL(t, s.URL())) {
		sessionSet = sessionSet || c.Name == sessionCookie
	}
	if !sessionSet {
		t.Error("no session cookie after an interactive login")
	}

	tok := exchangeCode(t, s, q.Get("code"), testVerifier, testCallback)
	if tok.status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.status, tok.body)
	}
	body := tok.json(t)
	if _, err := verifyWithJWKS(t, s, body["access_token"].(string), testAudience); err != nil {
		t.Errorf("access token does not verify for the API: %v", err)
	}
	id := claimsOf(t, body["id_token"].(string))
	if tokenHeader(t, body["id_token"].(string))["alg"] != "RS256" {
		t.Error("ID token is not RS256")
	}
	for k, want := range map[string]any{
		"iss": s.Issuer(), "aud": DefaultClientID, "sub": SeedNewUserID, "nonce": "bm9uY2U",
		"auth_time": float64(clock.Now().Unix()), "email": "new@example.com", "name": "new@example.com",
	} {
		if id[k] != want {
			t.Errorf("id_token %s = %v, want %v", k, id[k], want)
		}
	}
	if body["refresh_token"] == nil || body["scope"] != "openid profile email offline_access" {
		t.Errorf("offline_access must give a refresh token and the scope: %s", tok.body)
	}
	access := claimsOf(t, body["access_token"].(string))
	if _, has := access["gty"]; has || access["azp"] != DefaultClientID {
		t.Errorf("authorization-code access token: gty %v, azp %v", access["gty"], access["azp"])
	}
	u, _ := s.User(SeedNewUserID)
	if u["logins_count"] != float64(1) || mustParseTime(t, u["last_login"]).Truncate(time.Second) != clock.Now() {
		t.Errorf("interactive login: logins_count %v last_login %v, want 1 at %v", u["logins_count"], u["last_login"], clock.Now())
	}
	info := do(t, http.MethodGet, s.URL()+"/userinfo", bearer(body["access_token"].(string)), "")
	if info.status != http.StatusOK || info.json(t)["email"] != "new@example.com" {
		t.Errorf("userinfo: %d %s", info.status, info.body)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSessionCookieIsHttpOnlyAndSameSite(t *testing.T) {
	s := start(t, Config{})
	b := newBrowser(t, s)
	page := b.authorize(authorizeParams())
	r := b.submit(page.body, "login", "new@example.com", SeedPassword)
	var found bool
	for _, raw := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(raw, sessionCookie+"=") {
			found = true
			if !strings.Contains(raw, "HttpOnly") || !strings.Contains(raw, "SameSite=Lax") {
				t.Errorf("session cookie %q must be HttpOnly and SameSite", raw)
			}
		}
	}
	if !found {
		t.Fatalf("no session cookie in %v", r.header.Values("Set-Cookie"))
	}
}

func TestHostedLoginWrongPasswordDoesNotCount(t *testing.T) {
	s := start(t, Config{})
	b := newBrowser(t, s)
	page := b.authorize(authorizeParams())
	r := b.submit(page.body, "login", "new@example.com", "wrong")
	if r.status != http.StatusUnauthorized || r.header.Get("Location") != "" || !strings.Contains(string(r.body), "Wrong email or password.") {
		t.Fatalf("wrong password: %d %s", r.status, r.body)
	}
	if u, _ := s.User(SeedNewUserID); u["logins_count"] != nil {
		t.Errorf("a failed login counted: %v", u["logins_count"])
	}
	// The same page still works with the right password.
	if q := b.callback(b.submit(r.body, "login", "new@example.com", SeedPassword), testCallback); q.Get("code") == "" {
		t.Error("no code after the retry")
	}
}

func TestLoginFormFromAnotherBrowserIsRefused(t *testing.T) {
	s := start(t, Config{})
	page := newBrowser(t, s).authorize(authorizeParams())
	r := newBrowser(t, s).submit(page.body, "login", "new@example.com", SeedPassword)
	if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
		t.Fatalf("a login form posted from another browser: %d %v", r.status, r.header)
	}
	if u, _ := s.User(SeedNewUserID); u["logins_count"] != nil {
		t.Error("the replayed form logged the user in")
	}
}

func TestSignUpOnHostedPage(t *testing.T) {
	clock := pinnedClock()
	s := start(t, Config{Now: clock.Now})
	b := newBrowser(t, s)
	page := b.authorize(authorizeParams("screen_hint", "signup"))
	if !strings.Contains(string(page.body), `action="/u/signup"`) {
		t.Fatalf("screen_hint=signup did not show the sign-up form: %s", page.body)
	}
	q := b.callback(b.submit(page.body, "signup", "Fresh@Example.com", "s3cret-pass"), testCallback)
	tok := exchangeCode(t, s, q.Get("code"), testVerifier, testCallback)
	if tok.status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.status, tok.body)
	}
	sub := claimsOf(t, tok.json(t)["id_token"].(string))["sub"].(string)
	u, ok := s.User(sub)
	if !ok || !strings.HasPrefix(sub, "auth0|") || u["email"] != "fresh@example.com" || u["logins_count"] != float64(1) {
		t.Fatalf("signed-up user %s: %v", sub, u)
	}
	if ids := u["identities"].([]any); ids[0].(map[string]any)["connection"] != DatabaseConnection {
		t.Errorf("sign-up not in the database connection: %v", ids)
	}
	// The new user can log in with the password grant, and a second sign-up
	// with the same email is refused on the page.
	if r := passwordLogin(t, s, "fresh@example.com", "s3cret-pass"); r.status != http.StatusOK {
		t.Errorf("password grant for the signed-up user: %d %s", r.status, r.body)
	}
	other := newBrowser(t, s)
	again := other.submit(other.authorize(authorizeParams("screen_hint", "signup")).body, "signup", "fresh@example.com", "x")
	if again.status != http.StatusBadRequest || !strings.Contains(string(again.body), "The user already exists.") {
		t.Errorf("duplicate sign-up: %d %s", again.status, again.body)
	}
	// The login page links to the sign-up screen of the same transaction.
	login := other.authorize(authorizeParams())
	m := txField.FindSubmatch(login.body)
	if r := other.do(http.MethodGet, s.URL()+"/u/signup?state="+string(m[1]), nil); !strings.Contains(string(r.body), `action="/u/signup"`) {
		t.Errorf("GET /u/signup: %d %s", r.status, r.body)
	}
}

// TestAuthorizeRefusals covers what /authorize refuses. What it cannot send
// back safely is an error page with no redirect; the rest goes to the
// registered redirect_uri with the state.
func TestAuthorizeRefusals(t *testing.T) {
	s := start(t, Config{})
	pages := []struct {
		name  string
		extra []string
	}{
		{"unknown client", []string{"client_id", "someone-else"}},
		{"no client", []string{"client_id", ""}},
		{"unregistered redirect_uri", []string{"redirect_uri", "https://evil.example/"}},
		{"redirect_uri with an extra path", []string{"redirect_uri", testCallback + "callback"}},
		{"redirect_uri differing in case", []string{"redirect_uri", "http://LOCALHOST:5173/"}},
		{"web origin without web_message", []string{"redirect_uri", "http://localhost:3000/x"}},
	}
	for _, tc := range pages {
		t.Run(tc.name, func(t *testing.T) {
			r := newBrowser(t, s).authorize(authorizeParams(tc.extra...))
			if r.status != http.StatusBadRequest || r.header.Get("Location") != "" || !strings.Contains(string(r.body), "went wrong") {
				t.Fatalf("%d %v %s, want an error page and no redirect", r.status, r.header, r.body)
			}
		})
	}
	redirects := []struct {
		name, code string
		extra      []string
	}{
		{"plain PKCE", "invalid_request", []string{"code_challenge_method", "plain", "code_challenge", testVerifier}},
		{"PKCE without a method (plain)", "invalid_request", []string{"code_challenge_method", ""}},
		{"malformed challenge", "invalid_request", []string{"code_challenge", "short"}},
		{"implicit flow", "unsupported_response_type", []string{"response_type", "token"}},
		{"unknown audience", "access_denied", []string{"audience", "https://other.example/api"}},
		{"unsupported response_mode", "invalid_request", []string{"response_mode", "form_post"}},
		{"prompt=none without a session", "login_required", []string{"prompt", "none"}},
	}
	for _, tc := range redirects {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, s)
			q := b.callback(b.authorize(authorizeParams(tc.extra...)), testCallback)
			if q.Get("error") != tc.code || q.Get("error_description") == "" || q.Get("state") != "c3RhdGU+/=&x" || q.Get("code") != "" {
				t.Fatalf("got %v, want error %s with the state", q, tc.code)
			}
		})
	}
}

func TestCodeExchangeRefusals(t *testing.T) {
	clock := pinnedClock()
	s := start(t, Config{Now: clock.Now})
	code := func(t *testing.T) string {
		return newBrowser(t, s).login(authorizeParams(), "new@example.com").Get("code")
	}
	t.Run("bad verifier", func(t *testing.T) {
		c := code(t)
		wantOAuthError(t, exchangeCode(t, s, c, testVerifier+"x", testCallback), http.StatusForbidden, "invalid_grant")
		// The failed attempt spent the code.
		wantOAuthError(t, exchangeCode(t, s, c, testVerifier, testCallback), http.StatusForbidden, "invalid_grant")
	})
	t.Run("missing verifier", func(t *testing.T) {
		wantOAuthError(t, exchangeCode(t, s, code(t), "", testCallback), http.StatusForbidden, "invalid_grant")
	})
	t.Run("reused code", func(t *testing.T) {
		c := code(t)
		if r := exchangeCode(t, s, c, testVerifier, testCallback); r.status != http.StatusOK {
			t.Fatalf("first exchange: %d %s", r.status, r.body)
		}
		wantOAuthError(t, exchangeCode(t, s, c, testVerifier, testCallback), http.StatusForbidden, "invalid_grant")
	})
	t.Run("expired code", func(t *testing.T) {
		c := code(t)
		clock.Add(codeTTL)
		wantOAuthError(t, exchangeCode(t, s, c, testVerifier, testCallback), http.StatusForbidden, "invalid_grant")
	})
	t.Run("code just before expiry", func(t *testing.T) {
		c := code(t)
		clock.Add(codeTTL - time.Second)
		if r := exchangeCode(t, s, c, testVerifier, testCallback); r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("wrong redirect URI", func(t *testing.T) {
		wantOAuthError(t, exchangeCode(t, s, code(t), testVerifier, "http://localhost:5173"), http.StatusForbidden, "invalid_grant")
	})
	t.Run("wrong client", func(t *testing.T) {
		wantOAuthError(t, exchangeCode(t, s, code(t), testVerifier, testCallback, "client_id", "other-client"), http.StatusUnauthorized, "access_denied")
	})
	t.Run("wrong client secret", func(t *testing.T) {
		wantOAuthError(t, exchangeCode(t, s, code(t), testVerifier, testCallback, "client_secret", "nope"), http.StatusUnauthorized, "access_denied")
	})
	t.Run("unknown code", func(t *testing.T) {
		wantOAuthError(t, exchangeCode(t, s, "made-up", testVerifier, testCallback), http.StatusForbidden, "invalid_grant")
	})
	t.Run("no PKCE needs the client secret", func(t *testing.T) {
		p := authorizeParams("code_challenge", "", "code_challenge_method", "")
		c := newBrowser(t, s).login(p, "new@example.com").Get("code")
		wantOAuthError(t, exchangeCode(t, s, c, "", testCallback), http.StatusUnauthorized, "access_denied")
		c = newBrowser(t, s).login(p, "new@example.com").Get("code")
		if r := exchangeCode(t, s, c, "", testCallback, "client_secret", DefaultClientSecret); r.status != http.StatusOK {
			t.Fatalf("confidential client: %d %s", r.status, r.body)
		}
	})
}

var webMessage = regexp.MustCompile(`postMessage\(\{type: "authorization_response", response: (\{[^}]*\})\}, "([^"]+)"\)`)

// parseWebMessage reads what the web_message page posts, and to which
// origin.
func parseWebMessage(t *testing.T, r httpResult) (map[string]string, string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("web_message: %d %s", r.status, r.body)
	}
	m := webMessage.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("no authorization_response postMessage in %s", r.body)
	}
	var resp map[string]string
	if err := json.Unmarshal(m[1], &resp); err != nil {
		t.Fatalf("response %s: %v", m[1], err)
	}
	var origin string
	_ = json.Unmarshal([]byte(`"`+string(m[2])+`"`), &origin)
	return resp, origin
}

// TestSilentAuthentication is what auth0-spa-js does on reload: an iframe
// to /authorize with prompt=none and response_mode=web_message, the
// redirect_uri being the app's origin.
func TestSilentAuthentication(t *testing.T) {
	clock := pinnedClock()
	s := start(t, Config{Now: clock.Now})
	b := newBrowser(t, s)
	silent := authorizeParams("prompt", "none", "response_mode", "web_message", "redirect_uri", "http://localhost:5173", "state", "silent-state")

	msg, origin := parseWebMessage(t, b.authorize(silent))
	if msg["error"] != "login_required" || msg["state"] != "silent-state" || origin != "http://localhost:5173" {
		t.Fatalf("without a session: %v to %s, want login_required", msg, origin)
	}

	loginAt := clock.Now()
	b.login(authorizeParams(), "new@example.com")
	afterLogin, _ := s.User(SeedNewUserID)
	clock.Add(time.Hour)
	r := b.authorize(silent)
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors http://localhost:5173") {
		t.Errorf("web_message CSP %q must let only the app frame it", csp)
	}
	msg, _ = parseWebMessage(t, r)
	if msg["code"] == "" || msg["state"] != "silent-state" {
		t.Fatalf("with a session: %v", msg)
	}
	tok := exchangeCode(t, s, msg["code"], testVerifier, "http://localhost:5173")
	if tok.status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.status, tok.body)
	}
	if got := claimsOf(t, tok.json(t)["id_token"].(string))["auth_time"]; got != float64(loginAt.Unix()) {
		t.Errorf("auth_time %v, want the interactive login's %d", got, loginAt.Unix())
	}
	u, _ := s.User(SeedNewUserID)
	if u["logins_count"] != float64(1) || u["last_login"] != afterLogin["last_login"] {
		t.Errorf("silent authentication counted a login: %v at %v", u["logins_count"], u["last_login"])
	}
	// Single sign-on without prompt=none skips the form and does not count
	// either; prompt=login shows the form again.
	if q := b.callback(b.authorize(authorizeParams()), testCallback); q.Get("code") == "" {
		t.Errorf("SSO: %v", q)
	}
	if r := b.authorize(authorizeParams("prompt", "login")); r.status != http.StatusOK || !txField.Match(r.body) {
		t.Errorf("prompt=login: %d", r.status)
	}
	if u, _ := s.User(SeedNewUserID); u["logins_count"] != float64(1) {
		t.Errorf("SSO counted a login: %v", u["logins_count"])
	}
	// An expired session is no session.
	clock.Add(sessionTTL)
	if msg, _ := parseWebMessage(t, b.authorize(silent)); msg["error"] != "login_required" {
		t.Errorf("after the session's lifetime: %v", msg)
	}
}

func TestRefreshTokenRotationAndReuseDetection(t *testing.T) {
	clock := pinnedClock()
	s := start(t, Config{Now: clock.Now})
	q := newBrowser(t, s).login(authorizeParams(), "new@example.com")
	first := exchangeCode(t, s, q.Get("code"), testVerifier, testCallback).json(t)
	rt1 := first["refresh_token"].(string)
	refresh := func(rt string) httpResult {
		return postForm(t, s, url.Values{"grant_type": {"refresh_token"}, "client_id": {DefaultClientID}, "refresh_token": {rt}}, nil)
	}
	clock.Add(time.Minute)
	r := refresh(rt1)
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	second := r.json(t)
	rt2, _ := second["refresh_token"].(string)
	if rt2 == "" || rt2 == rt1 || second["access_token"] == first["access_token"] || second["id_token"] == nil {
		t.Fatalf("refresh must rotate and issue new tokens: %s", r.body)
	}
	if _, err := verifyWithJWKS(t, s, second["access_token"].(string), testAudience); err != nil {
		t.Errorf("refreshed access token: %v", err)
	}
	if u, _ := s.User(SeedNewUserID); u["logins_count"] != float64(1) {
		t.Errorf("a refresh counted a login: %v", u["logins_count"])
	}
	wantOAuthError(t, refresh(rt1), http.StatusForbidden, "invalid_grant")
	// The reuse revoked the family: the latest token is dead too.
	wantOAuthError(t, refresh(rt2), http.StatusForbidden, "invalid_grant")

	// Without offline_access there is no refresh token; a wrong client
	// cannot use one.
	q = newBrowser(t, s).login(authorizeParams("scope", "openid profile email"), "new@example.com")
	if body := exchangeCode(t, s, q.Get("code"), testVerifier, testCallback).json(t); body["refresh_token"] != nil {
		t.Errorf("refresh token without offline_access: %v", body)
	}
	q = newBrowser(t, s).login(authorizeParams(), "new@example.com")
	rt := exchangeCode(t, s, q.Get("code"), testVerifier, testCallback).json(t)["refresh_token"].(string)
	wantOAuthError(t, postForm(t, s, url.Values{"grant_type": {"refresh_token"}, "client_id": {"other"}, "refresh_token": {rt}}, nil), http.StatusUnauthorized, "access_denied")
	clock.Add(refreshTokenTTL)
	wantOAuthError(t, refresh(rt), http.StatusForbidden, "invalid_grant")
}

func TestLogout(t *testing.T) {
	s := start(t, Config{})
	b := newBrowser(t, s)
	b.login(authorizeParams(), "new@example.com")
	silent := authorizeParams("prompt", "none")

	r := b.do(http.MethodGet, s.URL()+"/v2/logout?client_id="+DefaultClientID+"&returnTo="+url.QueryEscape("https://evil.example/"), nil)
	if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
		t.Fatalf("unlisted returnTo: %d %v", r.status, r.header)
	}
	if q := b.callback(b.authorize(silent), testCallback); q.Get("code") == "" {
		t.Fatalf("a refused logout ended the session: %v", q)
	}
	r = b.do(http.MethodGet, s.URL()+"/v2/logout?client_id="+DefaultClientID+"&returnTo="+url.QueryEscape(testCallback), nil)
	if r.status != http.StatusFound || r.header.Get("Location") != testCallback {
		t.Fatalf("logout: %d %v", r.status, r.header)
	}
	if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), sessionCookie+"=;") {
		t.Errorf("logout did not clear the session cookie: %v", r.header.Values("Set-Cookie"))
	}
	if q := b.callback(b.authorize(silent), testCallback); q.Get("error") != "login_required" {
		t.Errorf("after logout: %v", q)
	}
}

func TestTokenAndUserinfoCORSForWebOriginsOnly(t *testing.T) {
	s := start(t, Config{WebOrigins: []string{"http://app.test:8000"}})
	for _, path := range []string{"/oauth/token", "/userinfo"} {
		pre := do(t, http.MethodOptions, s.URL()+path, http.Header{
			"Origin": {"http://app.test:8000"}, "Access-Control-Request-Method": {"POST"},
			"Access-Control-Request-Headers": {"content-type, auth0-client"},
		}, "")
		if pre.header.Get("Access-Control-Allow-Origin") != "http://app.test:8000" || !strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Auth0-Client") {
			t.Errorf("%s preflight from an allowed origin: %v", path, pre.header)
		}
		other := do(t, http.MethodOptions, s.URL()+path, http.Header{"Origin": {"http://localhost:5173"}, "Access-Control-Request-Method": {"POST"}}, "")
		if other.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: an origin that is not a web origin got CORS: %v", path, other.header)
		}
	}
	// The configured lists replace the dev defaults.
	if r := newBrowser(t, s).authorize(authorizeParams()); r.status != http.StatusBadRequest {
		t.Errorf("dev callback admitted although CallbackURLs derive from WebOrigins: %d", r.status)
	}
}

func TestConfigRefusesMalformedAllowLists(t *testing.T) {
	for _, cfg := range []Config{
		{CallbackURLs: []string{"/callback"}},
		{LogoutURLs: []string{"localhost:3000"}},
		{WebOrigins: []string{"http://localhost:3000/app"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted a malformed allow-list", cfg)
		}
	}
}

func TestOpenIDConfigurationListsUniversalLogin(t *testing.T) {
	s := start(t, Config{})
	c := do(t, http.MethodGet, s.URL()+"/.well-known/openid-configuration", nil, "").json(t)
	for k, want := range map[string]string{
		"authorization_endpoint": s.URL() + "/authorize",
		"end_session_endpoint":   s.URL() + "/v2/logout",
		"token_endpoint":         s.URL() + "/oauth/token",
		"userinfo_endpoint":      s.URL() + "/userinfo",
	} {
		if c[k] != want {
			t.Errorf("%s = %v, want %s", k, c[k], want)
		}
	}
	if methods, _ := json.Marshal(c["code_challenge_methods_supported"]); string(methods) != `["S256"]` {
		t.Errorf("code_challenge_methods_supported %s", methods)
	}
}
