package auth0emu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type jwksDoc struct {
	Keys []struct {
		KTY string   `json:"kty"`
		KID string   `json:"kid"`
		Use string   `json:"use"`
		Alg string   `json:"alg"`
		N   string   `json:"n"`
		E   string   `json:"e"`
		X5C []string `json:"x5c"`
		X5T string   `json:"x5t"`
	} `json:"keys"`
}

func fetchJWKS(t *testing.T, s *Server) jwksDoc {
	t.Helper()
	r := do(t, http.MethodGet, s.URL()+"/.well-known/jwks.json", nil, "")
	if r.status != http.StatusOK {
		t.Fatalf("jwks %d", r.status)
	}
	var doc jwksDoc
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestJWKSShape(t *testing.T) {
	s := start(t, Config{})
	doc := fetchJWKS(t, s)
	if len(doc.Keys) != 1 {
		t.Fatalf("%d keys", len(doc.Keys))
	}
	k := doc.Keys[0]
	kid, priv := s.SigningKey()
	if k.KTY != "RSA" || k.KID != kid || k.Use != "sig" || k.Alg != "RS256" || k.E != "AQAB" {
		t.Errorf("key %+v", k)
	}
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil || len(n) != 256 || priv.N.Cmp(new(big.Int).SetBytes(n)) != 0 {
		t.Errorf("n is not the 2048-bit signing key modulus (%d bytes, %v)", len(n), err)
	}
	der, err := base64.StdEncoding.DecodeString(k.X5C[0])
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&priv.PublicKey) {
		t.Errorf("x5c certificate holds another key")
	}
	thumb := sha1.Sum(der)
	if k.X5T != base64.RawURLEncoding.EncodeToString(thumb[:]) {
		t.Errorf("x5t %q is not the certificate's SHA-1 thumbprint", k.X5T)
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	s := start(t, Config{})
	got := do(t, http.MethodGet, s.URL()+"/.well-known/openid-configuration", nil, "").json(t)
	want := map[string]string{
		"issuer":            s.Issuer(),
		"jwks_uri":          s.URL() + "/.well-known/jwks.json",
		"token_endpoint":    s.URL() + "/oauth/token",
		"userinfo_endpoint": s.URL() + "/userinfo",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %s", k, got[k], v)
		}
	}
	if algs, _ := got["id_token_signing_alg_values_supported"].([]any); !slices.Contains(algs, any("RS256")) {
		t.Errorf("algs %v", got["id_token_signing_alg_values_supported"])
	}
}

// Rotation: the new key signs, the old one is still served so tokens it
// signed keep verifying; once retired they are refused by /api/v2.
func TestKeyRotationAndRetirement(t *testing.T) {
	s := start(t, Config{})
	oldKid, _ := s.SigningKey()
	oldToken := managementToken(t, s, "")

	newKid := s.RotateKey()
	if newKid == oldKid {
		t.Fatal("RotateKey kept the kid")
	}
	if k, _ := s.SigningKey(); k != newKid {
		t.Errorf("current key %s, want %s", k, newKid)
	}
	doc := fetchJWKS(t, s)
	var kids []string
	for _, k := range doc.Keys {
		kids = append(kids, k.KID)
	}
	if !slices.Contains(kids, oldKid) || !slices.Contains(kids, newKid) {
		t.Fatalf("served kids %v, want old and new", kids)
	}
	newToken := managementToken(t, s, "")
	if h := tokenHeader(t, newToken); h["kid"] != newKid {
		t.Errorf("new token signed by %v", h["kid"])
	}
	if r := do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(oldToken), ""); r.status != http.StatusOK {
		t.Errorf("old-key token refused before retirement: %d", r.status)
	}

	s.RetireKey(oldKid)
	if doc := fetchJWKS(t, s); len(doc.Keys) != 1 || doc.Keys[0].KID != newKid {
		t.Errorf("after retire JWKS = %+v", doc.Keys)
	}
	wantAPIError(t, do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(oldToken), ""), http.StatusUnauthorized, "")
	if r := do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(newToken), ""); r.status != http.StatusOK {
		t.Errorf("new token refused: %d", r.status)
	}
	s.RetireKey(newKid) // the only key: ignored, or nothing could sign
	if k, _ := s.SigningKey(); k != newKid {
		t.Errorf("the last key was retired")
	}
}

// Tests forge tokens with SigningKey; the emulator checks them like any
// other.
func TestForgedTokensWithSigningKey(t *testing.T) {
	now := time.Now()
	s := start(t, Config{})
	kid, key := s.SigningKey()
	forge := func(claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		tok.Header["kid"] = kid
		raw, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	valid := jwt.MapClaims{
		"iss": s.Issuer(), "aud": s.ManagementAudience(), "sub": "x@clients",
		"exp": now.Add(time.Hour).Unix(), "scope": "read:users",
	}
	if r := do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(forge(valid)), ""); r.status != http.StatusOK {
		t.Fatalf("forged valid token refused: %d %s", r.status, r.body)
	}
	expired := jwt.MapClaims{"iss": s.Issuer(), "aud": s.ManagementAudience(), "exp": now.Add(-time.Minute).Unix(), "scope": "read:users"}
	noExp := jwt.MapClaims{"iss": s.Issuer(), "aud": s.ManagementAudience(), "scope": "read:users"}
	noSlash := jwt.MapClaims{"iss": s.URL(), "aud": s.ManagementAudience(), "exp": now.Add(time.Hour).Unix(), "scope": "read:users"}
	for name, c := range map[string]jwt.MapClaims{"expired": expired, "no exp": noExp, "issuer without slash": noSlash} {
		t.Run(name, func(t *testing.T) {
			wantAPIError(t, do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(forge(c)), ""), http.StatusUnauthorized, "")
		})
	}
	// A token signed by another tenant's key with the right kid header.
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, valid)
	tok.Header["kid"] = kid
	raw, _ := tok.SignedString(otherKey)
	wantAPIError(t, do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(raw), ""), http.StatusUnauthorized, "")
}

// Auth0 writes URLs with raw "&"; so does the emulator.
func TestJSONIsNotHTMLEscaped(t *testing.T) {
	s := start(t, Config{})
	r := do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(managementToken(t, s, "")), "")
	if !strings.Contains(string(r.body), "?s=480&r=pg&d=") {
		t.Errorf("picture URL escaped: %s", r.body)
	}
}

// A configured key keeps its kid across restarts, so issued tokens keep
// verifying; a weak key is refused.
func TestConfiguredSigningKey(t *testing.T) {
	a := start(t, Config{})
	b := start(t, Config{})
	kidA, _ := a.SigningKey()
	kidB, _ := b.SigningKey()
	if kidA != kidB {
		t.Errorf("same key, kids %s and %s", kidA, kidB)
	}
	if rotated := a.RotateKey(); rotated == kidA {
		t.Errorf("a rotated key reused the kid")
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{SigningKey: weak}); err == nil {
		t.Errorf("a 1024-bit key was accepted")
	}
}
