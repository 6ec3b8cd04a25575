package auth0emu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"
)

type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
	jwk  jwkset.JWKMarshal
}

// newSigningKey wraps priv (a fresh RSA-2048 key when nil) with a
// self-signed certificate, so the JWKS entry carries x5c and x5t as Auth0's
// does. The kid is derived from the public key.
func newSigningKey(priv *rsa.PrivateKey, subject string, now time.Time) (*signingKey, error) {
	if priv == nil {
		var err error
		if priv, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("auth0emu: generate RSA key: %w", err)
		}
	}
	if err := priv.Validate(); err != nil || priv.N.BitLen() < 2048 {
		return nil, fmt.Errorf("auth0emu: SigningKey must be a valid RSA key of at least 2048 bits")
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("auth0emu: encode public key: %w", err)
	}
	sum := sha256.Sum256(pubDER)
	kid := base64.RawURLEncoding.EncodeToString(sum[:24])
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("auth0emu: certificate serial: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: subject},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("auth0emu: self-sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("auth0emu: parse certificate: %w", err)
	}
	jwk, err := jwkset.NewJWKFromKey(&priv.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgRS256, KID: kid, USE: jwkset.UseSig},
		X509:     jwkset.JWKX509Options{X5C: []*x509.Certificate{cert}},
	})
	if err != nil {
		return nil, fmt.Errorf("auth0emu: build JWK: %w", err)
	}
	return &signingKey{kid: kid, priv: priv, jwk: jwk.Marshal()}, nil
}

func (s *Server) addKey(priv *rsa.PrivateKey) (*signingKey, error) {
	subject := "auth0emu"
	if d := s.Domain(); d != "" {
		subject = d
	}
	k, err := newSigningKey(priv, subject, s.now())
	if err != nil {
		return nil, err
	}
	s.keyMu.Lock()
	s.keys = append(s.keys, k)
	s.keyMu.Unlock()
	return k, nil
}

// SigningKey returns the key that signs new tokens, so tests can forge
// tokens the emulator's JWKS vouches for.
func (s *Server) SigningKey() (kid string, key *rsa.PrivateKey) {
	k := s.currentKey()
	return k.kid, k.priv
}

func (s *Server) currentKey() *signingKey {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	return s.keys[len(s.keys)-1]
}

// RotateKey makes a new key sign from now on; the old ones are still served
// in the JWKS until retired, as during an Auth0 key rotation. It panics only
// if the system's random source fails.
func (s *Server) RotateKey() (kid string) {
	k, err := s.addKey(nil)
	if err != nil {
		panic(err)
	}
	s.cfg.Logf("auth0emu: rotated signing key, now %s", k.kid)
	return k.kid
}

// RetireKey stops serving kid: tokens it signed no longer verify. Retiring
// the current key makes the newest remaining key sign; the last key cannot
// be retired (rotate first).
func (s *Server) RetireKey(kid string) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	i := slices.IndexFunc(s.keys, func(k *signingKey) bool { return k.kid == kid })
	if i < 0 || len(s.keys) == 1 {
		return
	}
	s.keys = slices.Delete(s.keys, i, i+1)
	s.cfg.Logf("auth0emu: retired signing key %s", kid)
}

// KeyIDs lists the served key ids, oldest first; the last one signs.
func (s *Server) KeyIDs() []string {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	ids := make([]string, len(s.keys))
	for i, k := range s.keys {
		ids[i] = k.kid
	}
	return ids
}

func (s *Server) servedKey(kid string) *rsa.PublicKey {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	for _, k := range s.keys {
		if k.kid == kid {
			return &k.priv.PublicKey
		}
	}
	return nil
}

func (s *Server) sign(claims jwt.MapClaims) (string, error) {
	k := s.currentKey()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = k.kid
	return t.SignedString(k.priv)
}

var errUnknownKey = errors.New("unknown signing key")

// verify checks an RS256 token signed by a served key, issued by issuer
// (Issuer or UserIssuer) for audience, unexpired. A token whose signature
// verified before, with a key still served, has only its claims checked
// again (see verifiedTokens); the answer is the same either way.
func (s *Server) verify(raw, issuer, audience string) (jwt.MapClaims, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.cfg.Now),
	}
	if v, ok := s.verified.Get(raw); ok && s.servedKey(v.kid) == v.key {
		// As ParseWithClaims words a failed claims check.
		if err := jwt.NewValidator(opts...).Validate(v.claims); err != nil {
			return nil, fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, err)
		}
		return maps.Clone(v.claims), nil
	}
	claims := jwt.MapClaims{}
	var kid string
	var key *rsa.PublicKey
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if key = s.servedKey(kid); key != nil {
			return key, nil
		}
		return nil, errUnknownKey
	}, opts...)
	if err != nil {
		return nil, err
	}
	s.verified.Add(raw, verifiedToken{kid: kid, key: key, claims: maps.Clone(claims)})
	return claims, nil
}

// verifiedTokens remembers, by the whole token, the signatures verify has
// checked: a Management API client presents one token on every call, and
// its RSA verification was half the CPU of serving a user read, which a
// load test of the service would otherwise spend on the emulator. Only the
// signature is taken as known: the claims (expiry on the emulator's clock,
// issuer, audience) are checked on every use, and a retired key's tokens
// stop verifying at once.
type verifiedToken struct {
	kid    string
	key    *rsa.PublicKey // the served key that verified it
	claims jwt.MapClaims  // never handed out; verify returns copies
}

// verifiedTokenCount bounds verifiedTokens: a few clients' tokens, and a
// load test's users'.
const verifiedTokenCount = 4096

func newVerifiedTokens() *lru.Cache[string, verifiedToken] {
	c, err := lru.New[string, verifiedToken](verifiedTokenCount)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return c
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func (s *Server) jwks(request) response {
	s.keyMu.RLock()
	set := jwkset.JWKSMarshal{Keys: make([]jwkset.JWKMarshal, len(s.keys))}
	for i, k := range s.keys {
		set.Keys[i] = k.jwk
	}
	s.keyMu.RUnlock()
	return jsonResponse(http.StatusOK, set)
}

func (s *Server) openIDConfiguration(request) response {
	base := s.URL()
	return jsonResponse(http.StatusOK, map[string]any{
		"issuer":                                s.UserIssuer(),
		"jwks_uri":                              base + "/.well-known/jwks.json",
		"authorization_endpoint":                base + "/authorize",
		"token_endpoint":                        base + "/oauth/token",
		"userinfo_endpoint":                     base + "/userinfo",
		"end_session_endpoint":                  base + "/v2/logout",
		"grant_types_supported":                 []string{grantAuthorizationCode, grantRefreshToken, "client_credentials", "password", grantPasswordRealm},
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{responseModeQuery, responseModeWebMessage},
		"code_challenge_methods_supported":      []string{"S256"},
		"prompt_values_supported":               []string{"none", "login"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"claims_supported": []string{
			"aud", "auth_time", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss",
			"name", "nickname", "nonce", "picture", "sub", "updated_at",
		},
	})
}
