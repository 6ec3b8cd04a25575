// Package auth verifies end users' Auth0 access tokens and carries the
// resulting principal through a request's context.
//
// A token is accepted only when it is an RS256 JWT signed by a key from the
// tenant's JWKS, issued by exactly the configured issuer for the configured
// audience, unexpired (with a small leeway) and issued to a user: Auth0's
// machine-to-machine tokens (client credentials) are refused, because the
// service acts on behalf of a person and takes the user id only from `sub`.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Principal is the verified end user a request acts for.
type Principal struct {
	// UserID is the token's `sub`, the only source of the user's identity.
	UserID string
	// Scopes are the token's space-separated `scope` claim, split.
	Scopes []string
	// IssuedAt is the token's `iat`: a login happened no later than this.
	IssuedAt time.Time
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
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
}

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
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:            cfg.HTTPClient,
		HTTPTimeout:       cfg.HTTPClient.Timeout,
		RefreshInterval:   cfg.RefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(cfg.UnknownKIDRefresh), 1),
		// keyfunc waits for the limiter up to this long; a token with an
		// unknown kid must be refused at once, not held for minutes. The
		// same bound also caps the refetch itself.
		RateLimitWaitMax: cfg.HTTPClient.Timeout,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(context.Context, error) {} // a failed refresh shows up as refused tokens
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS fetcher: %w", err)
	}
	return &Verifier{
		keys: keys,
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
	}, nil
}

// accessClaims are the claims the service reads from an Auth0 access token.
type accessClaims struct {
	jwt.RegisteredClaims
	Scope     string `json:"scope,omitempty"`
	GrantType string `json:"gty,omitempty"`
}

// Verify returns the principal of a valid token. Every failure wraps
// ErrInvalidToken; its text is safe to log but is not meant for clients.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	if len(raw) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenBytes)
	}
	if strings.Count(raw, ".") != 2 {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrInvalidToken)
	}
	var claims accessClaims
	if _, err := v.parser.ParseWithClaims(raw, &claims, v.keys.KeyfuncCtx(ctx)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if claims.Subject == "" {
		return nil, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	// Auth0 marks client-credentials tokens with gty and a "<client>@clients"
	// subject; they name an application, not a user.
	if claims.GrantType == "client-credentials" || strings.HasSuffix(claims.Subject, "@clients") {
		return nil, fmt.Errorf("%w: machine-to-machine token", ErrInvalidToken)
	}
	p := &Principal{UserID: claims.Subject, Scopes: strings.Fields(claims.Scope)}
	if claims.IssuedAt != nil {
		p.IssuedAt = claims.IssuedAt.Time
	}
	return p, nil
}

// HasScope reports whether the principal's token carries scope.
func (p *Principal) HasScope(scope string) bool {
	return slices.Contains(p.Scopes, scope)
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
