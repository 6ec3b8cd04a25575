package auth0emu

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"time"
)

const grantRefreshToken = "refresh_token"

// refreshToken is one refresh token of a family: the chain of tokens
// rotation produced from one login. Each is good for one exchange; showing
// a spent one again means it leaked, so, as Auth0's reuse detection does,
// the whole family is revoked and the legitimate holder must log in again.
type refreshToken struct {
	family   string
	clientID string
	userID   string
	scope    string
	audience string
	authTime time.Time
	spent    bool
	expires  time.Time
}

// mintRefreshToken stores rt (a new family when rt.family is empty) and
// returns its value.
func (s *Server) mintRefreshToken(rt refreshToken) string {
	now := s.now()
	if rt.family == "" {
		rt.family = rand.Text()
		rt.expires = now.Add(refreshTokenTTL) // absolute: rotation does not extend it
	}
	raw := "v1." + rand.Text() + rand.Text()
	s.auth.mu.Lock()
	s.auth.prune(now)
	s.auth.refresh[raw] = &rt
	s.auth.mu.Unlock()
	return raw
}

// refreshTokenGrant exchanges a refresh token for new tokens and a new
// refresh token. It never counts a login.
func (s *Server) refreshTokenGrant(id, secret string, p url.Values) response {
	if id != s.cfg.ClientID || (secret != "" && !equalSecret(secret, s.cfg.ClientSecret)) {
		return unauthorizedClient()
	}
	raw := p.Get("refresh_token")
	if raw == "" {
		return oauthError(http.StatusBadRequest, "invalid_request", "Missing required parameter: refresh_token")
	}
	const unknown = "Unknown or invalid refresh token."
	now := s.now()
	s.auth.mu.Lock()
	rt, ok := s.auth.refresh[raw]
	switch {
	case !ok || !now.Before(rt.expires) || !s.auth.revoked[rt.family].IsZero() || rt.clientID != id:
		s.auth.mu.Unlock()
		return invalidGrant(unknown)
	case rt.spent:
		// Reuse detected: revoke every token of the family.
		s.auth.revoked[rt.family] = rt.expires
		for k, other := range s.auth.refresh {
			if other.family == rt.family {
				delete(s.auth.refresh, k)
			}
		}
		s.auth.mu.Unlock()
		s.cfg.Logf("auth0emu: refresh token reuse detected for %s: family revoked", rt.userID)
		return invalidGrant(unknown)
	}
	rt.spent = true
	next := *rt
	next.spent = false
	s.auth.mu.Unlock()

	u, found := s.User(rt.userID)
	if blocked, _ := u["blocked"].(bool); !found || blocked {
		return invalidGrant(unknown)
	}
	g := tokenGrant{scope: rt.scope, audience: rt.audience, authTime: rt.authTime}
	g.refresh = s.mintRefreshToken(next)
	return s.userTokens(u, g)
}
