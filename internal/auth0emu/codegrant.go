package auth0emu

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"
)

const grantAuthorizationCode = "authorization_code"

// authCode is an issued authorization code: one exchange, within codeTTL,
// by the client it was issued to, for the redirect_uri it was sent to.
type authCode struct {
	clientID string
	req      authzRequest
	userID   string
	authTime time.Time
	expires  time.Time
}

func invalidGrant(description string) response {
	return oauthError(http.StatusForbidden, "invalid_grant", description)
}

// authorizationCodeGrant redeems a code. The code is spent by the first
// attempt, right or wrong: a code an attacker intercepted cannot be tried
// again with guessed verifiers.
func (s *Server) authorizationCodeGrant(id, secret string, p url.Values) response {
	if id != s.cfg.ClientID || (secret != "" && !equalSecret(secret, s.cfg.ClientSecret)) {
		return unauthorizedClient()
	}
	raw := p.Get("code")
	if raw == "" {
		return oauthError(http.StatusBadRequest, "invalid_request", "Missing required parameter: code")
	}
	now := s.now()
	s.auth.mu.Lock()
	code, ok := s.auth.codes[raw]
	delete(s.auth.codes, raw)
	s.auth.mu.Unlock()
	switch {
	case !ok || !now.Before(code.expires):
		return invalidGrant("Invalid authorization code")
	case code.clientID != id:
		return invalidGrant("Invalid authorization code")
	case p.Get("redirect_uri") != code.req.redirectURI:
		return invalidGrant("Invalid redirect_uri: it must be the one sent to /authorize")
	}
	if code.req.challenge != "" {
		verifier := p.Get("code_verifier")
		if verifier == "" {
			return invalidGrant("Missing required parameter: code_verifier")
		}
		sum := sha256.Sum256([]byte(verifier))
		if !equalSecret(base64.RawURLEncoding.EncodeToString(sum[:]), code.req.challenge) {
			return invalidGrant("Failed to verify code verifier")
		}
	} else if secret == "" {
		// Without PKCE only the client secret proves who redeems the code.
		return unauthorizedClient()
	}
	u, found := s.User(code.userID)
	if blocked, _ := u["blocked"].(bool); !found || blocked {
		return invalidGrant("Invalid authorization code")
	}
	g := tokenGrant{scope: code.req.scope, audience: code.req.audience, nonce: code.req.nonce, authTime: code.authTime}
	if hasScope(g.scope, "offline_access") {
		g.refresh = s.mintRefreshToken(refreshToken{
			clientID: id, userID: code.userID, scope: g.scope, audience: g.audience, authTime: code.authTime,
		})
	}
	return s.userTokens(u, g)
}
