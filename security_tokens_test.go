package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/progressive-profiling/bff/auth"
	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/figures"
)

// The token attack matrix: every token a test can forge
// against the running service. Each bad one must get 401 with a challenge,
// the same body as every other bad one (so nothing about the token, the
// keys or the tenant leaks), and cause no call to Auth0's user API.

// unknownKIDWindow is auth.Config's default UnknownKIDRefresh: at most one
// JWKS refetch per window for tokens naming keys the service does not hold.
const unknownKIDWindow = 30 * time.Second

// mutationProbe is what each bad token tries: were it let through, it would
// read the user from Auth0 and PATCH it.
const mutationProbe = `mutation { updateProfile(input: { company: "Evil Corp" }) { userErrors { code } } }`

// tokenTally counts the figure's bad tokens across the matrix's phases.
type tokenTally struct {
	tried, rejected, leaked int
	// body is the first refusal's body; every other must equal it.
	body string
}

// forgeToken signs claims under header with method and key; header's alg is
// set from method unless the case overrides it.
func forgeToken(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// userTokenClaims are the claims of a good access token for the seeded new
// user, as the tenant issues them.
func userTokenClaims(e *testEnv) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":   e.emu.Issuer(),
		"sub":   auth0emu.SeedNewUserID,
		"aud":   []string{testAudience, e.emu.URL() + "/userinfo"},
		"iat":   now.Add(-time.Minute).Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"scope": "openid profile email",
		"azp":   testClientID,
	}
}

func claimsWith(base jwt.MapClaims, change func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{}
	for k, v := range base {
		c[k] = v
	}
	change(c)
	return c
}

// clientCredentialsToken asks the emulator for a machine-to-machine token.
func clientCredentialsToken(t *testing.T, e *testEnv, audience string) string {
	t.Helper()
	resp, err := http.PostForm(e.emu.URL()+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {testClientID},
		"client_secret": {testClientSecret}, "audience": {audience},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("client_credentials for %s: status %d, err %v", audience, resp.StatusCode, err)
	}
	return body.AccessToken
}

// flipSignatureBit flips one bit in the middle of the decoded signature.
func flipSignatureBit(t *testing.T, token string) string {
	t.Helper()
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x10
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// attackerJWKS serves the attacker's key set and counts every request, so a
// jku/x5u header pointing here proves whether the service fetched it.
func attackerJWKS(t *testing.T, kid string, key *rsa.PrivateKey) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{publicJWK(kid, &key.PublicKey)}})
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func publicJWK(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sendBadToken posts the mutation probe with the raw Authorization value and
// checks the refusal; it returns what went wrong, if anything.
func (e *testEnv) sendBadToken(t *testing.T, tally *tokenTally, authorization string, secrets []string) {
	t.Helper()
	reads, patches := e.emu.Count(auth0emu.RouteGetUser), len(e.emu.Patches())
	body, _ := json.Marshal(map[string]any{"query": mutationProbe})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", authorization)
	r := e.do(req)

	tally.tried++
	if r.Status == http.StatusUnauthorized && r.code(0) == "UNAUTHENTICATED" && len(r.Errors) == 1 && r.Data == nil {
		tally.rejected++
	} else {
		t.Errorf("status %d, body %s; want 401 UNAUTHENTICATED", r.Status, r.Raw)
	}
	var leaks []string
	if challenge := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(challenge, `Bearer error="invalid_`) {
		leaks = append(leaks, fmt.Sprintf("WWW-Authenticate %q", challenge))
	}
	if tally.body == "" {
		tally.body = r.Raw
	}
	if r.Raw != tally.body {
		leaks = append(leaks, "a body different from the other refusals: "+r.Raw)
	}
	for _, s := range append(secrets, e.emu.URL(), e.emu.Domain(), "jwt", "kid", "crypto", "keyfunc", "signature", "goroutine", "panic", ".go:") {
		if s != "" && strings.Contains(strings.ToLower(r.Raw+strings.Join(r.Header.Values("WWW-Authenticate"), " ")), strings.ToLower(s)) {
			leaks = append(leaks, fmt.Sprintf("the response names %q", s))
		}
	}
	if n := e.emu.Count(auth0emu.RouteGetUser) - reads; n != 0 {
		leaks = append(leaks, fmt.Sprintf("%d user reads reached Auth0", n))
	}
	if n := len(e.emu.Patches()) - patches; n != 0 {
		leaks = append(leaks, fmt.Sprintf("%d PATCHes reached Auth0", n))
	}
	if len(leaks) > 0 {
		tally.leaked++
		t.Errorf("leaked: %s", strings.Join(leaks, "; "))
	}
}

// viewerID runs the viewer query with token as a control: a good token must
// be let through, or the refusals prove nothing.
func (e *testEnv) viewerID(t *testing.T, token string) string {
	t.Helper()
	r := e.gql(token, `{ viewer { id } }`, nil)
	id, _ := path(r.Data, "viewer", "id").(string)
	if r.Status != http.StatusOK || id == "" {
		t.Fatalf("control token refused: status %d, body %s", r.Status, r.Raw)
	}
	return id
}

// tokenAccepted proves the middleware let token through without touching
// Auth0's user API: with a token present, anything but a valid one is 401.
// (The viewer is not read here: after the tenant retires a key, the
// service's own Management API token, signed by that key, is refused too.)
func (e *testEnv) tokenAccepted(t *testing.T, token string) {
	t.Helper()
	r := e.gql(token, `{ __typename }`, nil)
	if r.Status != http.StatusOK || path(r.Data, "__typename") != "Query" {
		t.Fatalf("token refused: status %d, body %s", r.Status, r.Raw)
	}
}

func TestTokenAttackMatrix(t *testing.T) {
	e := startService(t)
	kid, key := e.emu.SigningKey()
	good := userTokenClaims(e)
	rs256 := func(header map[string]any, claims jwt.MapClaims) string {
		return forgeToken(t, jwt.SigningMethodRS256, key, header, claims)
	}
	realKID := map[string]any{"kid": kid, "typ": "JWT"}
	tally := &tokenTally{}

	// Controls: the forging code makes tokens the service accepts, and a
	// token expired by less than the 30s leeway still passes.
	if id := e.viewerID(t, rs256(realKID, good)); id != auth0emu.SeedNewUserID {
		t.Fatalf("control token read user %q", id)
	}
	e.viewerID(t, rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-10 * time.Second).Unix() })))
	if e.emu.Count(auth0emu.RouteGetUser) == 0 {
		t.Fatal("the controls read no user from Auth0: the upstream-call check below would prove nothing")
	}

	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	attacker := newRSAKey(t)
	const attackerKID = "attacker-key"
	jku, jkuHits := attackerJWKS(t, attackerKID, attacker)
	attackerHeader := func(extra map[string]any) map[string]any {
		h := map[string]any{"kid": attackerKID, "typ": "JWT"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}

	// Another tenant: a second emulator with the same audience, whose
	// genuine token this service must not take.
	otherTenant, err := auth0emu.Listen("127.0.0.1:0", auth0emu.Config{Audience: testAudience, ClientID: testClientID, ClientSecret: testClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { otherTenant.Close() })
	for _, u := range auth0emu.SeedUsers() {
		if _, err := otherTenant.CreateUser(u); err != nil {
			t.Fatal(err)
		}
	}
	otherTenantToken := passwordLogin(t, otherTenant.URL(), "new@example.com")
	otherKID, _ := otherTenant.SigningKey()

	valid := rs256(realKID, good)
	segments := strings.Split(valid, ".")
	now := time.Now()
	cases := []struct {
		name, token string
	}{
		{"alg none", forgeToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, realKID, good)},
		{"alg none, signature kept", segmentsWithHeader(t, segments, map[string]any{"alg": "none", "kid": kid})},
		{"HS256 keyed with the public key PEM", forgeToken(t, jwt.SigningMethodHS256, pubPEM, realKID, good)},
		{"HS256 keyed with the PKCS#1 PEM", forgeToken(t, jwt.SigningMethodHS256, pkcs1PEM, realKID, good)},
		{"HS256 keyed with the raw modulus", forgeToken(t, jwt.SigningMethodHS256, key.PublicKey.N.Bytes(), realKID, good)},
		{"RS384 with the real key", forgeToken(t, jwt.SigningMethodRS384, key, realKID, good)},
		{"RS512 with the real key", forgeToken(t, jwt.SigningMethodRS512, key, realKID, good)},
		{"PS256 with the real key", forgeToken(t, jwt.SigningMethodPS256, key, realKID, good)},
		{"unknown kid", rs256(map[string]any{"kid": "no-such-key"}, good)},
		{"path-like kid", rs256(map[string]any{"kid": "../../etc/passwd"}, good)},
		{"numeric kid", rs256(map[string]any{"kid": 12345}, good)},
		{"no kid", rs256(map[string]any{"kid": nil}, good)},
		{"embedded jwk", forgeToken(t, jwt.SigningMethodRS256, attacker, attackerHeader(map[string]any{"jwk": publicJWK(attackerKID, &attacker.PublicKey)}), good)},
		{"embedded jwk under the real kid", forgeToken(t, jwt.SigningMethodRS256, attacker, map[string]any{"kid": kid, "jwk": publicJWK(kid, &attacker.PublicKey)}, good)},
		{"jku to the attacker's JWKS", forgeToken(t, jwt.SigningMethodRS256, attacker, attackerHeader(map[string]any{"jku": jku.URL + "/jwks.json"}), good)},
		{"x5u to the attacker", forgeToken(t, jwt.SigningMethodRS256, attacker, attackerHeader(map[string]any{"x5u": jku.URL + "/cert.pem"}), good)},
		{"key from another issuer, real kid", forgeToken(t, jwt.SigningMethodRS256, attacker, realKID, good)},
		{"another tenant's genuine token", otherTenantToken},
		{"another tenant's kid on our claims", forgeToken(t, jwt.SigningMethodRS256, attacker, map[string]any{"kid": otherKID}, good)},
		{"expired beyond the leeway", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() }))},
		{"nbf in the future", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["nbf"] = now.Add(10 * time.Minute).Unix() }))},
		{"iat in the future", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["iat"] = now.Add(10 * time.Minute).Unix() }))},
		{"missing exp", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { delete(c, "exp") }))},
		{"exp as a word", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["exp"] = "tomorrow" }))},
		{"exp as a numeric string", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["exp"] = fmt.Sprint(now.Add(time.Hour).Unix()) }))},
		{"issuer without the trailing slash", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["iss"] = e.emu.URL() }))},
		{"issuer of another tenant", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["iss"] = "https://other-tenant.eu.auth0.com/" }))},
		{"aud = client id (an id token's)", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["aud"] = testClientID }))},
		{"aud = Management API", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["aud"] = e.emu.ManagementAudience() }))},
		{"aud missing", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { delete(c, "aud") }))},
		{"machine-to-machine token for this API", clientCredentialsToken(t, e, testAudience)},
		{"machine-to-machine token for the Management API", clientCredentialsToken(t, e, e.emu.ManagementAudience())},
		{"forged client-credentials grant type", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["gty"] = "client-credentials" }))},
		{"missing sub", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { delete(c, "sub") }))},
		{"sub as a number", rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["sub"] = 42 }))},
		{"bit-flipped signature", flipSignatureBit(t, valid)},
		{"missing signature", segments[0] + "." + segments[1] + "."},
		{"padded signature", valid + "=="},
		{"standard base64 signature", segments[0] + "." + segments[1] + "." + base64.StdEncoding.EncodeToString(mustDecodeSegment(t, segments[2]))},
		{"two segments", segments[0] + "." + segments[1]},
		{"four segments", valid + "." + segments[2]},
		{"claims of another token under this signature", segments[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"auth0|admin"}`)) + "." + segments[2]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.sendBadToken(t, tally, "Bearer "+tc.token, []string{kid, attackerKID, otherKID, jku.URL})
		})
	}
	if n := jkuHits.Load(); n != 0 {
		t.Errorf("the service fetched the attacker's jku/x5u URL %d times", n)
	}

	t.Run("Authorization header over a few KiB is refused before parsing", func(t *testing.T) {
		before := e.scrapeMetrics(t)
		jwks := e.emu.Count(auth0emu.RouteJWKS)
		big := "Bearer " + rs256(realKID, claimsWith(good, func(c jwt.MapClaims) { c["pad"] = strings.Repeat("A", 6<<10) }))
		e.sendBadToken(t, tally, big, nil)
		after := e.scrapeMetrics(t)
		headerSeries := auth.RefusedTokensMetric + `{reason="` + auth.ReasonHeader + `"}`
		if d := after[headerSeries] - before[headerSeries]; d != 1 {
			t.Errorf("%s moved by %v, want 1", headerSeries, d)
		}
		if d := after.sum(auth.RefusedTokensMetric) - before.sum(auth.RefusedTokensMetric); d != 1 {
			t.Errorf("refusals of other reasons moved too (total +%v): the verifier parsed the oversized token", d)
		}
		if e.emu.Count(auth0emu.RouteJWKS) != jwks {
			t.Error("the oversized token made the verifier fetch keys")
		}
	})

	t.Run("refusals are counted by reason", func(t *testing.T) {
		m := e.scrapeMetrics(t)
		if got := m.sum(auth.RefusedTokensMetric); got != float64(tally.tried) {
			t.Errorf("%s sums to %v, want one per bad token (%d)", auth.RefusedTokensMetric, got, tally.tried)
		}
		for _, reason := range auth.RefusalReasons() {
			t.Logf("refused %-14s %v", reason, m[auth.RefusedTokensMetric+`{reason="`+reason+`"}`])
		}
	})

	t.Run("a rotated-out key is refused after the refresh", func(t *testing.T) {
		// A fresh service: its unknown-kid allowance is not yet spent by the
		// random kids above, as a real rotation would find it.
		r := startService(t)
		oldKID, _ := r.emu.SigningKey()
		oldToken := r.login("new@example.com")
		r.tokenAccepted(t, oldToken)

		newKID := r.emu.RotateKey()
		r.emu.RetireKey(oldKID)
		jwks := r.emu.Count(auth0emu.RouteJWKS)
		newToken := r.login("new@example.com")
		r.tokenAccepted(t, newToken)
		if n := r.emu.Count(auth0emu.RouteJWKS) - jwks; n != 1 {
			t.Errorf("the new kid cost %d JWKS fetches, want 1", n)
		}
		r.sendBadToken(t, tally, "Bearer "+oldToken, []string{oldKID, newKID})
		if n := r.emu.Count(auth0emu.RouteJWKS) - jwks; n != 1 {
			t.Errorf("the retired kid made the verifier fetch again (%d fetches in all)", n)
		}
	})

	t.Run("1000 random kids cost at most one JWKS fetch per window", func(t *testing.T) {
		// A fresh service, whose unknown-kid allowance is unspent.
		e := startService(t)
		good := userTokenClaims(e)
		forger := newRSAKey(t)
		flood := make([]string, 1000)
		for i := range flood {
			kidBytes := make([]byte, 12)
			_, _ = rand.Read(kidBytes)
			flood[i] = forgeToken(t, jwt.SigningMethodRS256, forger, map[string]any{"kid": base64.RawURLEncoding.EncodeToString(kidBytes)}, good)
		}
		jwks, reads, patches := e.emu.Count(auth0emu.RouteJWKS), e.emu.Count(auth0emu.RouteGetUser), len(e.emu.Patches())
		start := time.Now()
		tokens := make(chan string)
		go func() {
			defer close(tokens)
			for _, tok := range flood {
				tokens <- tok
			}
		}()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for tok := range tokens {
					sub := &tokenTally{}
					e.sendRandomKID(t, sub, tok)
					mu.Lock()
					tally.tried += sub.tried
					tally.rejected += sub.rejected
					tally.leaked += sub.leaked
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		fetches := e.emu.Count(auth0emu.RouteJWKS) - jwks
		allowed := 1 + int(elapsed/unknownKIDWindow)
		t.Logf("1000 random kids in %v: %d JWKS fetches (allowed %d)", elapsed.Round(time.Millisecond), fetches, allowed)
		if fetches > allowed {
			t.Errorf("%d JWKS fetches for 1000 random kids in %v; at most %d allowed", fetches, elapsed, allowed)
		}
		if n := e.emu.Count(auth0emu.RouteGetUser) - reads; n != 0 {
			tally.leaked++
			t.Errorf("the flood caused %d user reads at Auth0", n)
		}
		if n := len(e.emu.Patches()) - patches; n != 0 {
			tally.leaked++
			t.Errorf("the flood caused %d PATCHes at Auth0", n)
		}
	})

	figures.Report(t, "bad tokens: %d tried, %d rejected, %d leaked", tally.tried, tally.rejected, tally.leaked)
	if tally.rejected != tally.tried || tally.leaked != 0 {
		t.Errorf("%d of %d bad tokens rejected, %d leaked", tally.rejected, tally.tried, tally.leaked)
	}
}

// sendRandomKID is sendBadToken for the flood: the same checks, without
// the per-request upstream snapshot (requests run concurrently; the flood
// checks the emulator's totals once at the end instead).
func (e *testEnv) sendRandomKID(t *testing.T, tally *tokenTally, token string) {
	body, _ := json.Marshal(map[string]any{"query": mutationProbe})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	tally.tried++
	if resp.StatusCode == http.StatusUnauthorized && strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`) {
		tally.rejected++
	} else {
		t.Errorf("random kid: status %d %s", resp.StatusCode, raw.String())
	}
	if strings.Contains(raw.String(), "kid") || strings.Contains(raw.String(), e.emu.URL()) || !strings.Contains(raw.String(), `"UNAUTHENTICATED"`) {
		tally.leaked++
		t.Errorf("random kid: body %s", raw.String())
	}
}

func mustDecodeSegment(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// segmentsWithHeader swaps a signed token's header for another, keeping its
// claims and signature: the classic "alg: none" downgrade.
func segmentsWithHeader(t *testing.T, segments []string, header map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + segments[1] + "." + segments[2]
}
