package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Client is a verified machine-to-machine caller: an application holding
// a client-credentials token for this API, such as a product team's tool.
type Client struct {
	// ID is the application's client id (the token's azp, or its sub
	// without "@clients").
	ID string
	// Scopes are the permissions the token grants.
	Scopes []string
}

var (
	// ErrNotAClient means a valid token that is not a client-credentials
	// token: an end user's, which trusted-caller endpoints refuse.
	ErrNotAClient = errors.New("not a client-credentials token")
	// ErrScope means a client-credentials token without the permission
	// the endpoint needs.
	ErrScope = errors.New("the token does not grant the permission this endpoint needs")
)

// VerifyClient checks a client-credentials access token for this API (same
// keys, issuer, audience and expiry rules as Verify) that grants scope. An
// invalid token wraps ErrInvalidToken and is counted as Verify counts it; a
// valid end-user token is ErrNotAClient, a client without scope ErrScope.
func (v *Verifier) VerifyClient(ctx context.Context, raw, scope string) (*Client, error) {
	if err := checkCompactJWS(raw); err != nil {
		return nil, v.refuse(ReasonMalformed, err)
	}
	var claims accessClaims
	token, err := v.parser.ParseWithClaims(raw, &claims, v.keyfunc(ctx))
	if err != nil {
		return nil, v.refuse(classify(token, err), err)
	}
	if claims.GrantType != "client-credentials" || !strings.HasSuffix(claims.Subject, "@clients") {
		return nil, ErrNotAClient
	}
	scopes := strings.Fields(claims.Scope)
	if !slices.Contains(scopes, scope) {
		return nil, ErrScope
	}
	return &Client{ID: strings.TrimSuffix(claims.Subject, "@clients"), Scopes: scopes}, nil
}
