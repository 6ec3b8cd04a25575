package auth0emu

import (
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// With a custom domain, users' tokens carry the custom domain's iss while
// Management API tokens keep the tenant's, as Auth0 does; the emulator
// still accepts both where each belongs.
func TestCustomDomainIssuerIsForUserTokensOnly(t *testing.T) {
	const custom = "https://login.example.com/"
	s := start(t, Config{CustomDomainIssuer: custom})
	if s.UserIssuer() != custom || s.Issuer() != s.URL()+"/" {
		t.Fatalf("UserIssuer %q, Issuer %q", s.UserIssuer(), s.Issuer())
	}
	issOf := func(raw string) string {
		var claims jwt.MapClaims
		if _, _, err := jwt.NewParser().ParseUnverified(raw, &claims); err != nil {
			t.Fatal(err)
		}
		iss, _ := claims["iss"].(string)
		return iss
	}

	login := passwordLogin(t, s, "new@example.com", SeedPassword)
	if login.status != http.StatusOK {
		t.Fatalf("login: %d %s", login.status, login.body)
	}
	body := login.json(t)
	access, _ := body["access_token"].(string)
	idToken, _ := body["id_token"].(string)
	if got := issOf(access); got != custom {
		t.Errorf("access token iss %q, want %q", got, custom)
	}
	if got := issOf(idToken); got != custom {
		t.Errorf("id token iss %q, want %q", got, custom)
	}
	if r := do(t, http.MethodGet, s.URL()+"/userinfo", bearer(access), ""); r.status != http.StatusOK {
		t.Errorf("/userinfo with a custom-domain token: %d %s", r.status, r.body)
	}
	if iss := do(t, http.MethodGet, s.URL()+"/.well-known/openid-configuration", nil, "").json(t)["issuer"]; iss != custom {
		t.Errorf("discovery issuer %v, want %q", iss, custom)
	}

	mgmt := managementToken(t, s, "")
	if got := issOf(mgmt); got != s.Issuer() {
		t.Errorf("Management API token iss %q, want the tenant's %q", got, s.Issuer())
	}
	if r := do(t, http.MethodGet, userURL(s, SeedNewUserID), bearer(mgmt), ""); r.status != http.StatusOK {
		t.Errorf("Management API with the tenant's token: %d %s", r.status, r.body)
	}

	for _, bad := range []string{"login.example.com", "https://login.example.com", "ftp://x/"} {
		if _, err := New(Config{CustomDomainIssuer: bad}); err == nil {
			t.Errorf("CustomDomainIssuer %q accepted", bad)
		}
	}
}
