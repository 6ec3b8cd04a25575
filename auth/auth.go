// Package auth verifies end users' Auth0 access tokens and carries the
// resulting principal through a request's context.
//
// A token is accepted only when it is an RS256 JWT signed by a key from the
// tenant's JWKS, issued by exactly the configured issuer for the configured
// audience, unexpired (with a small leeway) and issued to a user: Auth0's
// machine-to-machine tokens (client credentials) are refused, because the
// service acts on behalf of a person and takes the user id only from `sub`.
//
// Every refusal is counted by reason class in bff_auth_tokens_refused_total,
// so an operator sees an attack (or a misconfigured client) without reading
// logs; clients only ever get the same generic 401.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Principal is the verified end user a request acts for.
type Principal struct {
	// UserID is the token's `sub`, the only source of the user's identity.
	UserID string
	// IssuedAt is the token's `iat`: a login happened no later than this.
	IssuedAt time.Time
	// FirstSeen is when this instance first verified the token.
	FirstSeen time.Time
	// Unique is set when the token carries a jti: no other login produced
	// the same token, so its login happened before FirstSeen.
	Unique bool
	// LoginsCount is the login count the token carries in Config.LoginsClaim
	// (a post-login Action puts it there), 0 when it carries none.
	LoginsCount int64
}

// Config says which tokens to accept and where the signing keys are.
type Config struct {
	// Issuer is the exact `iss`, e.g. "https://tenant.eu.auth0.com/".
	Issuer string
	// Audience is the API identifier that must appear in `aud`.
	Audience string
	// JWKSURL is where the tenant publishes its signing keys.
	JWKSURL string
	// Leeway absorbs clock skew on exp, nbf and iat. Default 30s.
	Leeway time.Duration
	// HTTPClient fetches the JWKS. Default: a client with a 5s timeout.
	HTTPClient *http.Client
	// RefreshInterval is how often the JWKS is refetched in the background.
	// Default 10 minutes.
	RefreshInterval time.Duration
	// UnknownKIDRefresh limits refetches caused by tokens naming a key the
	// cache does not hold, so a flood of forged kids cannot make the service
	// hammer the tenant. Default: at most one per 30 seconds.
	UnknownKIDRefresh time.Duration
	// LoginsClaim names a custom claim holding the user's login count
	// (event.stats.logins_count, added by a post-login Action), e.g.
	// "https://profiling.example.com/logins_count"; "" reads none.
	LoginsClaim string
	// VerifiedTokens is how many verified tokens are remembered so their
	// next requests skip verification. Default 10000; negative keeps none.
	VerifiedTokens int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Metrics receives bff_auth_tokens_refused_total{reason}; nil
	// registers nothing (the counter still works, unseen).
	Metrics prometheus.Registerer
}

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	keys        keyfunc.Keyfunc
	parser      *jwt.Parser
	refused     *prometheus.CounterVec
	verified    verifiedTokens
	leeway      time.Duration
	loginsClaim string
	now         func() time.Time
	issuer      string
	audience    string
	// keysErr is the last JWKS fetch failure, nil once one succeeded.
	keysErr atomic.Pointer[error]
	// mismatchLog lets Middleware warn about a tenant's own tokens carrying
	// another audience or issuer once a minute, not once per request.
	mismatchLog *rate.Limiter
	// metrics counts accepted tokens; nil in unit tests that build a
	// Verifier without NewVerifier.
	metrics *verifierMetrics
}

// ClaimMismatch is a refusal of a token the tenant signed but for another
// audience or issuer than the configured one: almost always AUTH0_AUDIENCE
// or AUTH0_ISSUER set wrong (or a client asking for the wrong audience),
// not an attack, since only the tenant can sign. Got is the token's value,
// never the token.
type ClaimMismatch struct {
	Claim    string // "aud" or "iss"
	Expected string
	Got      []string
}

func (m *ClaimMismatch) Error() string {
	return fmt.Sprintf("%s is %q, expected %q", m.Claim, m.Got, m.Expected)
}

// The reason classes of refused tokens, the values of the metric's reason
// label. A fixed set, never text from the token, so an attacker cannot
// blow up the metric's cardinality.
const (
	// ReasonHeader: the Authorization header itself is unusable (repeated,
	// oversized, not "Bearer <token>"); the token was never parsed.
	ReasonHeader = "header"
	// ReasonMalformed: not a compact JWS of base64url JSON segments, or a
	// registered claim of the wrong JSON type (exp as a string, ...).
	ReasonMalformed = "malformed"
	// ReasonAlgorithm: alg is not RS256 (none, HS256, RS384, PS256, ...).
	ReasonAlgorithm = "algorithm"
	// ReasonKey: no usable kid, a kid the tenant does not publish, or
	// key material the token brings itself (jwk, jku, x5u, x5c).
	ReasonKey = "key"
	// ReasonSignature: the signature does not verify with the named key.
	ReasonSignature = "signature"
	// ReasonExpired: exp is past, beyond the leeway.
	ReasonExpired = "expired"
	// ReasonNotYetValid: nbf or iat is in the future, beyond the leeway.
	ReasonNotYetValid = "not_yet_valid"
	// ReasonClaims: wrong or missing iss, aud or exp.
	ReasonClaims = "claims"
	// ReasonNotAUser: no sub, or a machine-to-machine token.
	ReasonNotAUser = "not_a_user"
)

// RefusalReasons lists every reason class, for dashboards and tests.
func RefusalReasons() []string {
	return []string{ReasonHeader, ReasonMalformed, ReasonAlgorithm, ReasonKey, ReasonSignature,
		ReasonExpired, ReasonNotYetValid, ReasonClaims, ReasonNotAUser}
}

// RefusedTokensMetric is the name of the counter of refused tokens.
const RefusedTokensMetric = "bff_auth_tokens_refused_total"

// MaxTokenBytes bounds the size of a token the verifier will look at; Auth0
// access tokens are well under 2 KiB.
const MaxTokenBytes = 4096

// ErrInvalidToken is wrapped by every verification failure.
var ErrInvalidToken = errors.New("invalid access token")

// NewVerifier starts the JWKS fetcher. It does not fail when the first fetch
// fails (the tenant may come up after the service); tokens are then refused
// until the keys arrive. ctx ends the background refresh.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" || cfg.JWKSURL == "" {
		return nil, errors.New("auth: Issuer, Audience and JWKSURL are required")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = 10 * time.Minute
	}
	if cfg.UnknownKIDRefresh == 0 {
		cfg.UnknownKIDRefresh = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.VerifiedTokens == 0 {
		cfg.VerifiedTokens = 10000
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: RefusedTokensMetric,
		Help: "Access tokens refused, by reason class: " + strings.Join(RefusalReasons(), ", ") + ".",
	}, []string{"reason"})
	for _, r := range RefusalReasons() {
		refused.WithLabelValues(r) // present at 0, so a rate() works from the start
	}
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(refused); err != nil {
			return nil, fmt.Errorf("auth: register metrics: %w", err)
		}
	}
	metrics, err := newVerifierMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("auth: register metrics: %w", err)
	}
	jwksClient := *cfg.HTTPClient
	jwksClient.Transport = countFetches{base: cfg.HTTPClient.Transport, fetches: metrics.fetches}
	cfg.HTTPClient = &jwksClient
	v := newVerifier(cfg, refused)
	v.metrics = metrics
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:            cfg.HTTPClient,
		HTTPTimeout:       cfg.HTTPClient.Timeout,
		RefreshInterval:   cfg.RefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(cfg.UnknownKIDRefresh), 1),
		// keyfunc waits for the limiter up to this long; a token with an
		// unknown kid must be refused at once, not held for minutes. The
		// same bound also caps the refetch itself.
		RateLimitWaitMax: cfg.HTTPClient.Timeout,
		// The tenant's keys are the only ones: look there first. The
		// default order asks the empty set of given keys first, whose miss
		// builds an error value on every look-up (each request's check
		// that its memoised token's key is still published).
		PrioritizeHTTP: true,
		// A failed fetch shows up as refused tokens, and in KeysErr (which
		// readiness and start-up report).
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				err = fmt.Errorf("fetching %s: %w", u, err)
				v.keysErr.Store(&err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS fetcher: %w", err)
	}
	v.keys = keys
	return v, nil
}

// KeysErr returns nil when the verifier holds the tenant's signing keys,
// and otherwise why it has none (the last JWKS fetch's failure): until the
// keys arrive, every token is refused.
func (v *Verifier) KeysErr(ctx context.Context) error {
	if keys, err := v.keys.Storage().KeyReadAll(ctx); err == nil && len(keys) > 0 {
		return nil
	}
	if err := v.keysErr.Load(); err != nil {
		return *err
	}
	return errors.New("no signing keys fetched yet")
}

func newVerifier(cfg Config, refused *prometheus.CounterVec) *Verifier {
	return &Verifier{
		refused:     refused,
		verified:    newVerifiedTokens(cfg.VerifiedTokens),
		leeway:      cfg.Leeway,
		loginsClaim: cfg.LoginsClaim,
		now:         cfg.Now,
		issuer:      cfg.Issuer,
		audience:    cfg.Audience,
		mismatchLog: rate.NewLimiter(rate.Every(time.Minute), 1),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{"RS256"}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithTimeFunc(cfg.Now),
			jwt.WithStrictDecoding(),
		),
	}
}

// accessClaims are the claims the service reads from an Auth0 access token.
// It does not embed jwt.RegisteredClaims because jwt's NumericDate also
// takes a JSON string ("exp": "9999999999"); Auth0 never sends one, so a
// token that does is refused.
type accessClaims struct {
	Issuer    string           `json:"iss,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	Audience  jwt.ClaimStrings `json:"aud,omitempty"`
	ExpiresAt *numericDate     `json:"exp,omitempty"`
	NotBefore *numericDate     `json:"nbf,omitempty"`
	IssuedAt  *numericDate     `json:"iat,omitempty"`
	ID        string           `json:"jti,omitempty"`
	Scope     string           `json:"scope,omitempty"`
	GrantType string           `json:"gty,omitempty"`
}

var _ jwt.Claims = accessClaims{}

func (c accessClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.date(), nil }
func (c accessClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore.date(), nil }
func (c accessClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt.date(), nil }
func (c accessClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c accessClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c accessClaims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }

// numericDate is a JWT NumericDate that must be a JSON number (RFC 7519 §2).
type numericDate struct{ jwt.NumericDate }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errors.New("a NumericDate must be a JSON number")
	}
	return d.NumericDate.UnmarshalJSON(b)
}

func (d *numericDate) date() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return &d.NumericDate
}

// refusalError is a verification failure with its reason class.
type refusalError struct {
	reason string
	err    error
}

func (r *refusalError) Error() string {
	return ErrInvalidToken.Error() + ": " + r.reason + ": " + r.err.Error()
}
func (r *refusalError) Unwrap() []error {
	return []error{ErrInvalidToken, r.err}
}

// ReasonOf returns the reason class of a Verify error ("" when err is not a
// refusal).
func ReasonOf(err error) string {
	var r *refusalError
	if errors.As(err, &r) {
		return r.reason
	}
	return ""
}

func (v *Verifier) refuse(reason string, err error) error {
	v.refused.WithLabelValues(reason).Inc()
	return &refusalError{reason: reason, err: err}
}

// Verify returns the principal of a valid token. Every failure wraps
// ErrInvalidToken and has a reason class (ReasonOf); its text is safe to log
// but is not meant for clients.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	if err := checkCompactJWS(raw); err != nil {
		return nil, v.refuse(ReasonMalformed, err)
	}
	now := v.now()
	key := sha256.Sum256([]byte(raw))
	if p, ok := v.verified.get(ctx, v, key, now); ok {
		v.metrics.accept("memo")
		return p, nil
	}
	var claims accessClaims
	token, err := v.parser.ParseWithClaims(raw, &claims, v.keyfunc(ctx))
	if err != nil {
		// jwt checks claims only after the signature verified: a wrong
		// aud or iss here is on a token the tenant signed.
		switch {
		case errors.Is(err, jwt.ErrTokenInvalidAudience):
			err = errors.Join(err, &ClaimMismatch{Claim: "aud", Expected: v.audience, Got: clip(claims.Audience)})
		case errors.Is(err, jwt.ErrTokenInvalidIssuer):
			err = errors.Join(err, &ClaimMismatch{Claim: "iss", Expected: v.issuer, Got: clip([]string{claims.Issuer})})
		}
		return nil, v.refuse(classify(token, err), err)
	}
	if claims.Subject == "" {
		return nil, v.refuse(ReasonNotAUser, errors.New("no subject"))
	}
	// Auth0 marks client-credentials tokens with gty and a "<client>@clients"
	// subject; they name an application, not a user.
	if claims.GrantType == "client-credentials" || strings.HasSuffix(claims.Subject, "@clients") {
		return nil, v.refuse(ReasonNotAUser, errors.New("machine-to-machine token"))
	}
	p := Principal{UserID: claims.Subject, FirstSeen: now, Unique: claims.ID != ""}
	if claims.IssuedAt != nil {
		p.IssuedAt = claims.IssuedAt.Time
	}
	if v.loginsClaim != "" {
		if p.LoginsCount, err = loginsCount(raw, v.loginsClaim); err != nil {
			return nil, v.refuse(ReasonMalformed, err)
		}
	}
	kid, _ := token.Header["kid"].(string)
	v.metrics.accept("signature")
	return v.verified.add(key, &verifiedToken{principal: p, expires: claims.ExpiresAt.Add(v.leeway), kid: kid}), nil
}

// loginsCount reads the custom login-count claim from a verified token's
// payload: a whole number, or absent (0).
func loginsCount(raw, claim string) (int64, error) {
	_, rest, _ := strings.Cut(raw, ".")
	payload, _, _ := strings.Cut(rest, ".")
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return 0, err
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(b, &claims); err != nil {
		return 0, err
	}
	v, ok := claims[claim]
	if !ok {
		return 0, nil
	}
	var n int64
	if err := json.Unmarshal(v, &n); err != nil || n < 0 {
		return 0, fmt.Errorf("claim %q is not a login count", claim)
	}
	return n, nil
}

// clip bounds claim values copied into logs.
func clip(values []string) []string {
	const most, longest = 4, 200
	var out []string
	for i, s := range values {
		if i == most {
			break
		}
		if len(s) > longest {
			s = s[:longest] + "…"
		}
		out = append(out, s)
	}
	return out
}

// checkCompactJWS refuses, before any decoding, what cannot be an Auth0
// access token: too long, not three segments, or bytes outside base64url.
func checkCompactJWS(raw string) error {
	if len(raw) > MaxTokenBytes {
		return fmt.Errorf("longer than %d bytes", MaxTokenBytes)
	}
	dots := 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '.':
			dots++
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return errors.New("a byte outside base64url")
		}
	}
	if dots != 2 {
		return errors.New("not a compact JWS of three segments")
	}
	return nil
}

// Header parameters that bring their own key, or their own rules: the key
// comes only from the tenant's JWKS, and no extension is understood.
// (x5t, a mere thumbprint, is harmless and left alone.)
var refusedHeaders = []string{"jwk", "jku", "x5u", "x5c", "crit"}

var (
	errNoKeyID         = errors.New("no usable kid")
	errEmbeddedKeyInfo = errors.New("token names its own key material or critical extensions")
)

// keyfunc picks the verification key: only by kid, only from the JWKS.
// Without a kid, keyfunc/v3 would try every published key; Auth0 always
// sends one, so a token without is refused.
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	fromJWKS := v.keys.KeyfuncCtx(ctx)
	return func(t *jwt.Token) (any, error) {
		for _, h := range refusedHeaders {
			if _, ok := t.Header[h]; ok {
				return nil, errEmbeddedKeyInfo
			}
		}
		kid, ok := t.Header["kid"].(string)
		if !ok || kid == "" || len(kid) > maxKeyIDBytes {
			return nil, errNoKeyID
		}
		return fromJWKS(t)
	}
}

// maxKeyIDBytes bounds a kid; Auth0's are about 30 characters.
const maxKeyIDBytes = 128

// classify maps a jwt/v5 parse error to a reason class.
func classify(token *jwt.Token, err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed) || token == nil:
		return ReasonMalformed
	case token.Method == nil || token.Method.Alg() != "RS256":
		return ReasonAlgorithm
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ReasonKey
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ReasonSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ReasonNotYetValid
	default:
		return ReasonClaims
	}
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the request's verified principal, if any.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
