package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testAudience = "https://api.test/"
)

// keyServer publishes a JWKS and counts fetches, so tests can tell when the
// verifier went back to the tenant.
type keyServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey
	fetches atomic.Int64
}

func newKeyServer(t testing.TB) *keyServer {
	t.Helper()
	ks := &keyServer{keys: map[string]*rsa.PrivateKey{}}
	ks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		ks.mu.Lock()
		defer ks.mu.Unlock()
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		for kid, k := range ks.keys {
			set.Keys = append(set.Keys, map[string]string{
				"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
			})
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(ks.srv.Close)
	return ks
}

func (ks *keyServer) addKey(t testing.TB, kid string) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ks.mu.Lock()
	ks.keys[kid] = k
	ks.mu.Unlock()
	return k
}

func (ks *keyServer) issuer() string { return ks.srv.URL + "/" }

func newTestVerifier(t testing.TB, ks *keyServer) *Verifier {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := NewVerifier(ctx, Config{
		Issuer:            ks.issuer(),
		Audience:          testAudience,
		JWKSURL:           ks.srv.URL + "/.well-known/jwks.json",
		UnknownKIDRefresh: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func userClaims(ks *keyServer) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":   ks.issuer(),
		"sub":   "auth0|0123456789abcdef01234567",
		"aud":   []string{testAudience, ks.srv.URL + "/userinfo"},
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"scope": "openid profile email",
	}
}

func TestVerifyAcceptsAUserToken(t *testing.T) {
	ks := newKeyServer(t)
	key := ks.addKey(t, "k1")
	v := newTestVerifier(t, ks)

	p, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, key, "k1", userClaims(ks)))
	if err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	if p.UserID != "auth0|0123456789abcdef01234567" {
		t.Errorf("UserID = %q", p.UserID)
	}
}

func TestVerifyRefuses(t *testing.T) {
	ks := newKeyServer(t)
	key := ks.addKey(t, "k1")
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	v := newTestVerifier(t, ks)
	now := time.Now()

	with := func(change func(c jwt.MapClaims)) jwt.MapClaims {
		c := userClaims(ks)
		change(c)
		return c
	}
	cases := []struct {
		name  string
		token string
	}{
		{"expired beyond leeway", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() }))},
		{"missing exp", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { delete(c, "exp") }))},
		{"exp as string", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }))},
		{"nbf in future", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["nbf"] = now.Add(10 * time.Minute).Unix() }))},
		{"iat in future", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["iat"] = now.Add(10 * time.Minute).Unix() }))},
		{"issuer without trailing slash", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["iss"] = ks.srv.URL }))},
		{"other tenant", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["iss"] = "https://other.auth0.com/" }))},
		{"wrong audience", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["aud"] = "https://other-api/" }))},
		{"missing audience", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { delete(c, "aud") }))},
		{"missing sub", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { delete(c, "sub") }))},
		{"machine to machine", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) {
			c["sub"] = "client@clients"
			c["gty"] = "client-credentials"
		}))},
		{"key from elsewhere", sign(t, jwt.SigningMethodRS256, other, "k1", userClaims(ks))},
		{"RS384", sign(t, jwt.SigningMethodRS384, key, "k1", userClaims(ks))},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", userClaims(ks))},
		{"HS256 with the public key", sign(t, jwt.SigningMethodHS256, key.PublicKey.N.Bytes(), "k1", userClaims(ks))},
		{"two segments", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"},
		{"oversized", strings.Repeat("a", MaxTokenBytes+1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tc.token)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error does not wrap ErrInvalidToken: %v", err)
			}
		})
	}
}

func TestVerifyAcceptsExpiryWithinLeeway(t *testing.T) {
	ks := newKeyServer(t)
	key := ks.addKey(t, "k1")
	v := newTestVerifier(t, ks)
	c := userClaims(ks)
	c["exp"] = time.Now().Add(-5 * time.Second).Unix()
	if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, key, "k1", c)); err != nil {
		t.Fatalf("token 5s past exp refused despite 30s leeway: %v", err)
	}
}

func TestUnknownKidRefetchesOnceThenUsesTheNewKey(t *testing.T) {
	ks := newKeyServer(t)
	ks.addKey(t, "k1")
	v := newTestVerifier(t, ks)
	// The first token makes the verifier load the set.
	before := ks.fetches.Load()

	rotated := ks.addKey(t, "k2")
	if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, rotated, "k2", userClaims(ks))); err != nil {
		t.Fatalf("token signed with a newly published key refused: %v", err)
	}
	if got := ks.fetches.Load() - before; got != 1 {
		t.Fatalf("JWKS fetched %d times for one unknown kid, want 1", got)
	}

	// Within the refresh window, forged kids cost no further fetches.
	forger, _ := rsa.GenerateKey(rand.Reader, 2048)
	for i := 0; i < 200; i++ {
		kid := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(i)).Bytes())
		if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, forger, kid, userClaims(ks))); err == nil {
			t.Fatal("token with a forged kid accepted")
		}
	}
	if got := ks.fetches.Load() - before; got != 1 {
		t.Fatalf("JWKS fetched %d times after 200 forged kids, want still 1", got)
	}
}

func TestMiddleware(t *testing.T) {
	ks := newKeyServer(t)
	key := ks.addKey(t, "k1")
	v := newTestVerifier(t, ks)
	var reached atomic.Int64
	var seen string
	h := Middleware(v, discardLogger(), refuseForTest, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		if p, ok := PrincipalFrom(r.Context()); ok {
			seen = p.UserID
		} else {
			seen = "anonymous"
		}
	}))
	do := func(header ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		for _, h := range header {
			r.Header.Add("Authorization", h)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	if w := do(); w.Code != http.StatusOK || seen != "anonymous" {
		t.Fatalf("no header: code %d, principal %q; want anonymous pass-through", w.Code, seen)
	}
	if w := do("Bearer " + sign(t, jwt.SigningMethodRS256, key, "k1", userClaims(ks))); w.Code != http.StatusOK || seen != "auth0|0123456789abcdef01234567" {
		t.Fatalf("valid token: code %d, principal %q", w.Code, seen)
	}
	reached.Store(0)
	for name, header := range map[string][]string{
		"garbage":   {"Bearer not-a-jwt"},
		"basic":     {"Basic dXNlcjpwYXNz"},
		"empty":     {"Bearer "},
		"oversized": {"Bearer " + strings.Repeat("x", 8192)},
		"repeated":  {"Bearer a.b.c", "Bearer d.e.f"},
	} {
		w := do(header...)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: code %d, want 401", name, w.Code)
		}
		if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("%s: WWW-Authenticate = %q", name, w.Header().Get("WWW-Authenticate"))
		}
		if !strings.Contains(w.Body.String(), `"code":"UNAUTHENTICATED"`) {
			t.Errorf("%s: body %s", name, w.Body)
		}
	}
	if w := do("Bearer not.a.jwt"); w.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token", error_description="the access token is invalid or expired"` {
		t.Errorf("invalid token challenge = %q", w.Header().Get("WWW-Authenticate"))
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("%d refused requests reached the API", n)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// refusal is the body refuseForTest writes: what the service's GraphQL
// endpoint writes is its own business; the middleware must only hand every
// refusal to it, with the challenge headers set.
const refusal = `{"errors":[{"message":"refused","extensions":{"code":"UNAUTHENTICATED"}}]}`

func refuseForTest(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(refusal))
}
