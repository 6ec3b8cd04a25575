package auth0emu

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/auth0/go-auth0/management"
	"github.com/golang-jwt/jwt/v5"
)

const testAudience = "https://api.test.example"

var sharedKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// start runs a seeded emulator on a free loopback port for one test.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Audience == "" {
		cfg.Audience = testAudience
	}
	if cfg.RateLimit == 0 && cfg.RatePreset == "" {
		cfg.RateLimit = -1 // most tests are not about the rate limit
	}
	if cfg.SigningKey == nil {
		cfg.SigningKey = sharedKey() // RSA key generation dominates test time
	}
	s, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Seed(); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return s
}

// sdk is the real go-auth0 management client pointed at s. WithInsecure
// must come before WithClientCredentials: it switches the URL to http, which
// the token source then uses, and it replaces the token source itself.
func sdk(t *testing.T, s *Server, extra ...management.Option) *management.Management {
	t.Helper()
	opts := append([]management.Option{
		management.WithInsecure(),
		management.WithClientCredentials(context.Background(), s.Config().ClientID, s.Config().ClientSecret),
		management.WithNoRetries(),
	}, extra...)
	m, err := management.New(s.Domain(), opts...)
	if err != nil {
		t.Fatalf("management.New: %v", err)
	}
	return m
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

func (r httpResult) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func do(t *testing.T, method, rawURL string, header http.Header, body string) httpResult {
	t.Helper()
	r, err := doErr(method, rawURL, header, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// doErr is do for goroutines other than the test's, which must not call
// t.Fatal.
func doErr(method, rawURL string, header http.Header, body string) (httpResult, error) {
	// Generous: it only bounds a hang, and shared machines can be very
	// loaded under -race.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, strings.NewReader(body))
	if err != nil {
		return httpResult{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return httpResult{}, fmt.Errorf("%s %s: %w", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return httpResult{}, err
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func postForm(t *testing.T, s *Server, form url.Values, header http.Header) httpResult {
	t.Helper()
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for k, v := range header {
		h[k] = v
	}
	return do(t, http.MethodPost, s.URL()+"/oauth/token", h, form.Encode())
}

// managementToken gets a Management API token with client credentials in
// the form body; scope "" means everything granted.
func managementToken(t *testing.T, s *Server, scope string) string {
	t.Helper()
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {s.Config().ClientID},
		"client_secret": {s.Config().ClientSecret},
		"audience":      {s.ManagementAudience()},
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	r := postForm(t, s, form, nil)
	if r.status != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", r.status, r.body)
	}
	return r.json(t)["access_token"].(string)
}

func passwordLogin(t *testing.T, s *Server, email, password string) httpResult {
	t.Helper()
	return postForm(t, s, url.Values{
		"grant_type": {"password"},
		"client_id":  {s.Config().ClientID},
		"username":   {email},
		"password":   {password},
	}, nil)
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

func userURL(s *Server, id string) string {
	return s.URL() + "/api/v2/users/" + url.PathEscape(id)
}

// verifyWithJWKS checks a token the way the service will: keyfunc over the
// served JWKS, RS256 only, exact issuer, audience, exp required.
func verifyWithJWKS(t *testing.T, s *Server, raw, audience string) (jwt.MapClaims, error) {
	t.Helper()
	jwks := do(t, http.MethodGet, s.URL()+"/.well-known/jwks.json", nil, "")
	if jwks.status != http.StatusOK {
		t.Fatalf("jwks: %d", jwks.status)
	}
	kf, err := keyfunc.NewJWKSetJSON(jwks.body)
	if err != nil {
		t.Fatalf("keyfunc: %v", err)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(raw, claims, kf.Keyfunc,
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(s.Issuer()),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		// The emulator's clock, which may be pinned: a token it issued at a
		// fixed date is checked at that date, not today.
		jwt.WithTimeFunc(s.now),
	)
	return claims, err
}

func tokenHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	return tok.Header
}

func wantAPIError(t *testing.T, r httpResult, status int, errorCode string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	body := r.json(t)
	if body["statusCode"] != float64(status) || body["error"] != http.StatusText(status) || body["message"] == "" {
		t.Errorf("error body %s is not Auth0's {statusCode,error,message} for %d", r.body, status)
	}
	if got, _ := body["errorCode"].(string); got != errorCode {
		t.Errorf("errorCode %q, want %q (%s)", got, errorCode, r.body)
	}
	return body
}

func mustParseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	tm, err := time.Parse("2006-01-02T15:04:05.000Z", s)
	if err != nil {
		t.Fatalf("%q is not in Auth0's date form: %v", v, err)
	}
	return tm
}

// httptestServe calls h in-process, for handlers without a listener.
func httptestServe(t *testing.T, h http.Handler, method, target string) httpResult {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return httpResult{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}
