package auth0emu

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	grantClientCredentials = "client_credentials"
	grantPassword          = "password"
	grantPasswordRealm     = "http://auth0.com/oauth/grant-type/password-realm"

	defaultUserScope = "openid profile email"
)

// tokenParams reads a token request from a form or JSON body.
func tokenParams(req request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.Unmarshal(req.body, &m); err != nil {
			return nil, fmt.Errorf("request body is not a JSON object")
		}
		v := url.Values{}
		for k, val := range m {
			switch val := val.(type) {
			case string:
				v.Set(k, val)
			case nil:
			default:
				v.Set(k, fmt.Sprint(val))
			}
		}
		return v, nil
	}
	v, err := url.ParseQuery(string(req.body))
	if err != nil {
		return nil, fmt.Errorf("request body is not form-encoded")
	}
	return v, nil
}

// clientCredentials returns the client id and secret from HTTP Basic (as
// golang.org/x/oauth2 sends them, query-escaped) or from the body.
func clientCredentials(req request, p url.Values) (id, secret string, ok bool) {
	if user, pass, basic := req.BasicAuth(); basic {
		id, errID := url.QueryUnescape(user)
		secret, errSecret := url.QueryUnescape(pass)
		if errID != nil || errSecret != nil {
			return "", "", false
		}
		if bodyID := p.Get("client_id"); bodyID != "" && bodyID != id {
			return "", "", false
		}
		return id, secret, true
	}
	return p.Get("client_id"), p.Get("client_secret"), true
}

func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func unauthorizedClient() response {
	return oauthError(http.StatusUnauthorized, "access_denied", "Unauthorized")
}

func (s *Server) token(req request) response {
	p, err := tokenParams(req)
	if err != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", err.Error())
	}
	id, secret, ok := clientCredentials(req, p)
	if !ok {
		return unauthorizedClient()
	}
	grant := p.Get("grant_type")
	var resp response
	switch grant {
	case "":
		return oauthError(http.StatusBadRequest, "invalid_request", "Missing required parameter: grant_type")
	case grantClientCredentials:
		resp = s.clientCredentialsGrant(id, secret, p)
	case grantPassword, grantPasswordRealm:
		resp = s.passwordGrant(grant, id, secret, p)
	case grantAuthorizationCode:
		resp = s.authorizationCodeGrant(id, secret, p)
	case grantRefreshToken:
		resp = s.refreshTokenGrant(id, secret, p)
	default:
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+grant)
	}
	resp.header.Set("Cache-Control", "no-store")
	resp.header.Set("Pragma", "no-cache")
	return resp
}

func (s *Server) clientCredentialsGrant(id, secret string, p url.Values) response {
	if id != s.cfg.ClientID || !equalSecret(secret, s.cfg.ClientSecret) {
		return unauthorizedClient()
	}
	audience := p.Get("audience")
	var granted string
	switch audience {
	case "":
		return oauthError(http.StatusForbidden, "access_denied", "No audience parameter was provided, and no default audience has been configured")
	case s.ManagementAudience():
		granted = managementScopes
	case s.cfg.Audience:
		granted = strings.Join(s.cfg.APIScopes, " ")
	default:
		return oauthError(http.StatusForbidden, "access_denied", "Service not found: "+audience)
	}
	scope := granted
	if requested := p.Get("scope"); requested != "" {
		var missing []string
		for _, sc := range strings.Fields(requested) {
			if !slices.Contains(strings.Fields(granted), sc) {
				missing = append(missing, sc)
			}
		}
		if len(missing) > 0 {
			return oauthError(http.StatusForbidden, "access_denied", "Client has not been granted scopes: "+strings.Join(missing, ", "))
		}
		scope = strings.Join(strings.Fields(requested), " ")
	}
	now := s.now()
	claims := jwt.MapClaims{
		"iss": s.Issuer(),
		"sub": s.cfg.ClientID + "@clients",
		"aud": audience,
		"iat": now.Unix(),
		"exp": now.Add(s.cfg.TokenTTL).Unix(),
		"gty": "client-credentials",
		"azp": s.cfg.ClientID,
	}
	if scope != "" {
		claims["scope"] = scope
	}
	access, err := s.sign(claims)
	if err != nil {
		return oauthError(http.StatusInternalServerError, "server_error", "could not sign the token")
	}
	body := map[string]any{
		"access_token": access,
		"expires_in":   int64(s.cfg.TokenTTL / time.Second),
		"token_type":   "Bearer",
	}
	if scope != "" {
		body["scope"] = scope
	}
	return jsonResponse(http.StatusOK, body)
}

func (s *Server) passwordGrant(grant, id, secret string, p url.Values) response {
	// Public clients (a SPA, a mobile app) send no secret; a secret that is
	// sent must be right.
	if id != s.cfg.ClientID || (secret != "" && !equalSecret(secret, s.cfg.ClientSecret)) {
		return unauthorizedClient()
	}
	for _, name := range []string{"username", "password"} {
		if p.Get(name) == "" {
			return oauthError(http.StatusBadRequest, "invalid_request", "Missing required parameter: "+name)
		}
	}
	realm := p.Get("realm")
	if grant == grantPasswordRealm && realm == "" {
		return oauthError(http.StatusBadRequest, "invalid_request", "Missing required parameter: realm")
	}
	audience := p.Get("audience")
	if audience == "" {
		audience = s.cfg.Audience // the tenant's default audience
	}
	if audience != s.cfg.Audience {
		return oauthError(http.StatusForbidden, "access_denied", "Service not found: "+audience)
	}
	scope := strings.Join(strings.Fields(p.Get("scope")), " ")
	if scope == "" {
		scope = defaultUserScope
	}
	profile, apiErr := s.login(p.Get("username"), p.Get("password"), realm)
	if apiErr != nil {
		return *apiErr
	}
	return s.userTokens(profile, tokenGrant{scope: scope, audience: audience, gty: "password"})
}

// tokenGrant is what a grant decided the tokens carry.
type tokenGrant struct {
	scope    string
	audience string
	gty      string    // Auth0's grant-type claim; empty for the authorization code flow, as Auth0 issues
	nonce    string    // from /authorize, echoed in the ID token
	authTime time.Time // of the interactive login, for the ID token's auth_time
	refresh  string    // a refresh token to return (offline_access)
}

func hasScope(scope, want string) bool { return slices.Contains(strings.Fields(scope), want) }

// userTokens signs an access token for the API (and an id_token when the
// scope asks for openid) for the user whose JSON object is u.
func (s *Server) userTokens(u map[string]any, g tokenGrant) response {
	now := s.now()
	exp := now.Add(s.cfg.TokenTTL)
	sub, _ := u["user_id"].(string)
	scope := g.scope
	scopes := strings.Fields(scope)
	var aud any = g.audience
	if slices.Contains(scopes, "openid") {
		aud = []string{g.audience, s.URL() + "/userinfo"}
	}
	accessClaims := jwt.MapClaims{
		"iss":         s.UserIssuer(),
		"sub":         sub,
		"aud":         aud,
		"iat":         now.Unix(),
		"exp":         exp.Unix(),
		"scope":       scope,
		"azp":         s.cfg.ClientID,
		"permissions": []string{},
		// A unique id, as Auth0's RFC 9068 access-token profile issues:
		// two logins in the same second get different tokens.
		"jti": rand.Text(),
	}
	if g.gty != "" {
		accessClaims["gty"] = g.gty
	}
	if s.cfg.LoginsCountClaim != "" {
		// What a post-login Action does with
		// api.accessToken.setCustomClaim(claim, event.stats.logins_count).
		accessClaims[s.cfg.LoginsCountClaim] = u["logins_count"]
	}
	access, err := s.sign(accessClaims)
	if err != nil {
		return oauthError(http.StatusInternalServerError, "server_error", "could not sign the token")
	}
	body := map[string]any{
		"access_token": access,
		"expires_in":   int64(s.cfg.TokenTTL / time.Second),
		"scope":        scope,
		"token_type":   "Bearer",
	}
	if slices.Contains(scopes, "openid") {
		claims := jwt.MapClaims{
			"iss": s.UserIssuer(),
			"sub": sub,
			"aud": s.cfg.ClientID,
			"iat": now.Unix(),
			"exp": exp.Unix(),
		}
		if g.nonce != "" {
			claims["nonce"] = g.nonce
		}
		if !g.authTime.IsZero() {
			claims["auth_time"] = g.authTime.Unix()
		}
		for k, v := range profileClaims(u, scopes) {
			claims[k] = v
		}
		idToken, err := s.sign(claims)
		if err != nil {
			return oauthError(http.StatusInternalServerError, "server_error", "could not sign the token")
		}
		body["id_token"] = idToken
	}
	if g.refresh != "" {
		body["refresh_token"] = g.refresh
	}
	return jsonResponse(http.StatusOK, body)
}

// profileClaims picks the OIDC standard claims the scopes allow.
func profileClaims(u map[string]any, scopes []string) map[string]any {
	out := map[string]any{}
	pick := func(keys ...string) {
		for _, k := range keys {
			if v, ok := u[k]; ok {
				out[k] = v
			}
		}
	}
	if slices.Contains(scopes, "profile") {
		pick("name", "nickname", "picture", "given_name", "family_name", "updated_at")
	}
	if slices.Contains(scopes, "email") {
		pick("email", "email_verified")
	}
	return out
}

// IssueAccessToken returns a user access token for Config.Audience (scope
// "openid profile email") without counting a login: a dev-mode playground
// convenience.
func (s *Server) IssueAccessToken(userID string) (string, error) {
	u, ok := s.User(userID)
	if !ok {
		return "", fmt.Errorf("auth0emu: no user %q", userID)
	}
	resp := s.userTokens(u, tokenGrant{scope: defaultUserScope, audience: s.cfg.Audience, gty: "password"})
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if resp.status != http.StatusOK || json.Unmarshal(resp.body, &body) != nil {
		return "", fmt.Errorf("auth0emu: could not sign a token for %q", userID)
	}
	return body.AccessToken, nil
}

func (s *Server) userinfo(req request) response {
	raw, ok := bearerToken(req.Request)
	if !ok {
		return textResponse(http.StatusUnauthorized, "Unauthorized")
	}
	claims, err := s.verify(raw, s.UserIssuer(), s.URL()+"/userinfo")
	if err != nil {
		return textResponse(http.StatusUnauthorized, "Unauthorized")
	}
	sub, _ := claims["sub"].(string)
	u, found := s.User(sub)
	if !found {
		return textResponse(http.StatusUnauthorized, "Unauthorized")
	}
	scope, _ := claims["scope"].(string)
	out := profileClaims(u, strings.Fields(scope))
	out["sub"] = sub
	return jsonResponse(http.StatusOK, out)
}

func textResponse(status int, text string) response {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return response{status: status, header: h, body: []byte(text)}
}
