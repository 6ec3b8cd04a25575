package auth0emu

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

// The seed covers every default stage; these are the facts the rules read.
func TestSeedUsers(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s := start(t, Config{Now: func() time.Time { return now }})

	newUser, _ := s.User(SeedNewUserID)
	if newUser["email"] != "new@example.com" || newUser["logins_count"] != nil || newUser["user_metadata"] != nil ||
		newUser["app_metadata"] != nil || newUser["given_name"] != nil || newUser["created_at"] != "2026-11-29T12:00:00.000Z" {
		t.Errorf("new user %v", newUser)
	}

	social, _ := s.User(SeedSocialUserID)
	ident := social["identities"].([]any)[0].(map[string]any)
	if social["given_name"] != "Grace" || social["family_name"] != "Hopper" || social["name"] != "Grace Hopper" ||
		social["picture"] == nil || social["logins_count"] != float64(1) || social["email_verified"] != true ||
		ident["provider"] != "google-oauth2" || ident["connection"] != "google-oauth2" || ident["isSocial"] != true {
		t.Errorf("social user %v", social)
	}

	ret, _ := s.User(SeedReturningUserID)
	created := mustParseTime(t, ret["created_at"])
	if ret["logins_count"] != float64(3) || now.Sub(created) != 45*24*time.Hour ||
		!reflect.DeepEqual(ret["user_metadata"], map[string]any{"first_name": "Ada", "last_name": "Lovelace"}) {
		t.Errorf("returning user %v", ret)
	}
	app := ret["app_metadata"].(map[string]any)
	collected := app["progressive_profiling"].(map[string]any)["collected"].(map[string]any)
	first := collected["firstName"].(map[string]any)
	if !reflect.DeepEqual(app["roles"], []any{"beta-tester"}) || first["stage"] != "signup" || first["context"] != "" || collected["lastName"] == nil {
		t.Errorf("returning app_metadata %v", app)
	}
	if _, err := time.Parse(time.RFC3339, first["at"].(string)); err != nil {
		t.Errorf("collected at %v: %v", first["at"], err)
	}

	enriched, _ := s.User(SeedEnrichedUserID)
	if !reflect.DeepEqual(enriched["app_metadata"], map[string]any{"enrichment": map[string]any{"company": "Initech", "title": "Staff Engineer"}}) ||
		enriched["logins_count"] != float64(1) {
		t.Errorf("enriched user %v", enriched)
	}

	ent, _ := s.User(SeedEnterpriseUserID)
	ids := ent["identities"].([]any)
	primary := ids[0].(map[string]any)
	if ent["given_name"] != "Katherine" || ent["company"] != "Acme Corp" || ent["title"] != "Principal Engineer" ||
		ent["department"] != "Flight Research" || ent["logins_count"] != float64(1) ||
		primary["provider"] != "samlp" || primary["connection"] != SeedEnterpriseConnection ||
		primary["user_id"] != "acme-saml|enterprise@example.com" || primary["isSocial"] != false {
		t.Errorf("enterprise user %v", ent)
	}
	if len(ids) != 2 {
		t.Fatalf("enterprise identities %v, want the primary and the linked GitHub one", ids)
	}
	linked := ids[1].(map[string]any)
	if linked["provider"] != "github" || linked["user_id"] != float64(5551234) || linked["isSocial"] != true ||
		linked["profileData"].(map[string]any)["nickname"] != "kjohnson" {
		t.Errorf("linked identity %v, want GitHub with a numeric user_id and profileData", linked)
	}

	// Auth0 gives profileData only to linked secondary identities.
	for _, u := range SeedUsersAt(now) {
		doc, _ := s.User(u.ID)
		if p, has := doc["identities"].([]any)[0].(map[string]any)["profileData"]; has {
			t.Errorf("%s: primary identity has profileData %v", u.Email, p)
		}
	}

	for _, u := range SeedUsersAt(now) {
		if r := passwordLogin(t, s, u.Email, SeedPassword); r.status != http.StatusOK {
			t.Errorf("%s cannot log in with the documented password: %d %s", u.Email, r.status, r.body)
		}
	}
	if err := s.Seed(); err == nil {
		t.Errorf("seeding twice did not report the duplicates")
	}
}

func TestUserReturnsADeepCopy(t *testing.T) {
	s := start(t, Config{})
	u, _ := s.User(SeedReturningUserID)
	u["user_metadata"].(map[string]any)["first_name"] = "changed"
	u["identities"].([]any)[0].(map[string]any)["connection"] = "changed"
	again, _ := s.User(SeedReturningUserID)
	if again["user_metadata"].(map[string]any)["first_name"] != "Ada" || again["identities"].([]any)[0].(map[string]any)["connection"] != DatabaseConnection {
		t.Errorf("User returned shared state")
	}
	if _, ok := s.User("auth0|nobody"); ok {
		t.Errorf("User found a missing id")
	}
}

func TestCreateUserGoAPIErrors(t *testing.T) {
	s := start(t, Config{})
	cases := map[string]NewUser{
		"no connection":     {Email: "a@example.com", Password: "x"},
		"database no email": {Connection: DatabaseConnection, Password: "x"},
		"database no pass":  {Connection: DatabaseConnection, Email: "a@example.com"},
		"bad email":         {Connection: DatabaseConnection, Email: "nope", Password: "x"},
		"dot key":           {Connection: DatabaseConnection, Email: "a@example.com", Password: "x", AppMetadata: map[string]any{"a.b": 1}},
		"duplicate id":      {ID: SeedNewUserID, Connection: DatabaseConnection, Email: "z@example.com", Password: "x"},
	}
	for name, u := range cases {
		_, err := s.CreateUser(u)
		apiErr, ok := err.(*APIError)
		if !ok || apiErr.StatusCode < 400 || apiErr.Message == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
	u, err := s.CreateUser(NewUser{ID: "12345", Connection: "github", IsSocial: true, Nickname: "octo"})
	if err != nil || u["user_id"] != "github|12345" || u["name"] != "octo" ||
		u["identities"].([]any)[0].(map[string]any)["user_id"] != float64(12345) {
		t.Errorf("social without email (GitHub's identity user_id is a number): %v %v", u, err)
	}
	for _, k := range []string{"email", "identities", "logins_count", "user_id"} {
		_, err := s.CreateUser(NewUser{Connection: "acme-oidc", Provider: "oidc", Email: k + "@example.com", Attributes: map[string]any{k: "x"}})
		if apiErr, ok := err.(*APIError); !ok || apiErr.StatusCode != http.StatusBadRequest {
			t.Errorf("attributes setting %s: %v, want 400", k, err)
		}
	}
	if _, err := s.CreateUser(NewUser{Connection: "acme-oidc", Email: "l@example.com", Password: "x", LinkedIdentities: []LinkedIdentity{{Connection: "github"}}}); err == nil {
		t.Errorf("a linked identity without user_id was accepted")
	}
}

// Load-test users are distinct users shaped like the returning one, readable
// through the Management API like any other; the count is bounded.
func TestSeedLoadUsers(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s := start(t, Config{Now: func() time.Time { return now }})
	if err := s.SeedLoadUsers(3); err != nil {
		t.Fatal(err)
	}
	ret, _ := s.User(SeedReturningUserID)
	for i := 1; i <= 3; i++ {
		u, ok := s.User(LoadUserID(i))
		if !ok {
			t.Fatalf("no load user %d", i)
		}
		if u["email"] != LoadUserEmail(i) || !reflect.DeepEqual(u["user_metadata"], ret["user_metadata"]) ||
			!reflect.DeepEqual(u["app_metadata"], ret["app_metadata"]) || u["logins_count"] != ret["logins_count"] {
			t.Errorf("load user %d: %v", i, u)
		}
	}
	if _, ok := s.User(LoadUserID(4)); ok {
		t.Errorf("a fourth load user exists")
	}
	if id := LoadUserID(1); id != "auth0|10ad00000000000000000001" {
		t.Errorf("LoadUserID(1) = %q, want Auth0's form of 24 hex digits", id)
	}
	tok := bearer(managementToken(t, s, ""))
	if r := do(t, http.MethodGet, userURL(s, LoadUserID(2)), tok, ""); r.status != http.StatusOK || r.json(t)["user_id"] != LoadUserID(2) {
		t.Errorf("GET load user: %d %s", r.status, r.body)
	}
	// The same users again collide; too many are refused before any is made.
	if err := s.SeedLoadUsers(1); err == nil {
		t.Errorf("seeding load user 1 twice succeeded")
	}
	if err := s.SeedLoadUsers(MaxLoadUsers + 1); err == nil {
		t.Errorf("more than MaxLoadUsers accepted")
	}
}
