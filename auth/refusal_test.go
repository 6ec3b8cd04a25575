package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// rawToken assembles a token from a header and claims it does not check,
// signed RS256 with key: what an attacker holding some key can send.
func rawToken(t *testing.T, key *rsa.PrivateKey, header map[string]any, claims map[string]any) string {
	t.Helper()
	seg := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := seg(header) + "." + seg(claims)
	sig, err := jwt.SigningMethodRS256.Sign(signing, key)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Each refusal is counted under its reason class, and the class is what the
// matrix in the service's security tests reads off /metrics.
func TestRefusalReasons(t *testing.T) {
	ks := newKeyServer(t)
	key := ks.addKey(t, "k1")
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := NewVerifier(ctx, Config{
		Issuer: ks.issuer(), Audience: testAudience, JWKSURL: ks.srv.URL + "/.well-known/jwks.json",
		UnknownKIDRefresh: time.Hour, Metrics: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	with := func(change func(c jwt.MapClaims)) jwt.MapClaims {
		c := userClaims(ks)
		change(c)
		return c
	}
	hdr := func(extra map[string]any) map[string]any {
		h := map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"}
		for k, v := range extra {
			if v == nil {
				delete(h, k)
			} else {
				h[k] = v
			}
		}
		return h
	}
	cases := []struct {
		name, token, reason string
	}{
		{"not base64url", "a.b!.c", ReasonMalformed},
		{"four segments", "a.b.c.d", ReasonMalformed},
		{"header not JSON", "bm90IGpzb24.e30.c2ln", ReasonMalformed},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", userClaims(ks)), ReasonAlgorithm},
		{"HS256", sign(t, jwt.SigningMethodHS256, key.PublicKey.N.Bytes(), "k1", userClaims(ks)), ReasonAlgorithm},
		{"PS256", sign(t, jwt.SigningMethodPS256, key, "k1", userClaims(ks)), ReasonAlgorithm},
		{"no kid", rawToken(t, key, hdr(map[string]any{"kid": nil}), userClaims(ks)), ReasonKey},
		{"numeric kid", rawToken(t, key, hdr(map[string]any{"kid": 1}), userClaims(ks)), ReasonKey},
		{"unknown kid", rawToken(t, key, hdr(map[string]any{"kid": "nope"}), userClaims(ks)), ReasonKey},
		{"embedded jwk", rawToken(t, key, hdr(map[string]any{"jwk": map[string]any{"kty": "RSA"}}), userClaims(ks)), ReasonKey},
		{"jku", rawToken(t, key, hdr(map[string]any{"jku": "https://evil.example/jwks"}), userClaims(ks)), ReasonKey},
		{"crit", rawToken(t, key, hdr(map[string]any{"crit": []string{"exp"}}), userClaims(ks)), ReasonKey},
		{"bad signature", sign(t, jwt.SigningMethodRS256, ks.addKeyUnpublished(t), "k1", userClaims(ks)), ReasonSignature},
		{"expired", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })), ReasonExpired},
		{"nbf in future", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })), ReasonNotYetValid},
		{"iat in future", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })), ReasonNotYetValid},
		{"exp as a numeric string", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["exp"] = "9999999999" })), ReasonMalformed},
		{"missing exp", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { delete(c, "exp") })), ReasonClaims},
		{"wrong issuer", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["iss"] = "https://x/" })), ReasonClaims},
		{"missing sub", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { delete(c, "sub") })), ReasonNotAUser},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := count(t, v.refused.WithLabelValues(tc.reason))
			_, err := v.Verify(context.Background(), tc.token)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("reason %q, want %q (%v)", got, tc.reason, err)
			}
			if d := count(t, v.refused.WithLabelValues(tc.reason)) - before; d != 1 {
				t.Fatalf("counter %s moved by %v, want 1", tc.reason, d)
			}
		})
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, f := range families {
		if f.GetName() == RefusedTokensMetric {
			series = len(f.GetMetric())
		}
	}
	if series != len(RefusalReasons()) {
		t.Fatalf("registry has %d %s series, want one per reason (%d)", series, RefusedTokensMetric, len(RefusalReasons()))
	}
}

// The exp-as-string case above would be accepted by jwt/v5's own
// NumericDate; this control proves the same token with a numeric exp passes,
// so the refusal is about the type alone.
func TestNumericExpIsAccepted(t *testing.T) {
	ks := newKeyServer(t)
	key := ks.addKey(t, "k1")
	v := newTestVerifier(t, ks)
	if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, key, "k1", userClaims(ks))); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
}

func TestMiddlewareCountsHeaderRefusalsWithoutParsing(t *testing.T) {
	ks := newKeyServer(t)
	ks.addKey(t, "k1")
	v := newTestVerifier(t, ks)
	fetches := ks.fetches.Load()
	h := Middleware(v, discardLogger(), refuseForTest, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a refused request reached the API")
	}))
	for _, header := range []string{"Bearer " + strings.Repeat("a.", 3000) + "a", "Basic x", "Bearer"} {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r.Header.Set("Authorization", header)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if got := count(t, v.refused.WithLabelValues(ReasonHeader)); got != 3 {
		t.Fatalf("header refusals counted %v, want 3", got)
	}
	for _, reason := range RefusalReasons() {
		if got := count(t, v.refused.WithLabelValues(reason)); reason != ReasonHeader && got != 0 {
			t.Errorf("reason %s counted %v: the verifier looked at a header the middleware refuses", reason, got)
		}
	}
	if ks.fetches.Load() != fetches {
		t.Error("a header refusal fetched the JWKS")
	}
}

func (ks *keyServer) addKeyUnpublished(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func count(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
