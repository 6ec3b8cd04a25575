package auth0emu

import (
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"
)

type patcher struct {
	t *testing.T
	s *Server
	h http.Header
}

func newPatcher(t *testing.T, s *Server) patcher {
	h := bearer(managementToken(t, s, ""))
	h.Set("Content-Type", "application/json")
	return patcher{t: t, s: s, h: h}
}

func (p patcher) patch(id, body string) httpResult {
	p.t.Helper()
	return do(p.t, http.MethodPatch, userURL(p.s, id), p.h, body)
}

func (p patcher) ok(id, body string) map[string]any {
	p.t.Helper()
	r := p.patch(id, body)
	if r.status != http.StatusOK {
		p.t.Fatalf("PATCH %s: %d %s", body, r.status, r.body)
	}
	return r.json(p.t)
}

// The PATCH semantics Auth0 documents, read off the response (the whole
// user) at each step.
func TestPatchMetadataSemantics(t *testing.T) {
	s := start(t, Config{})
	p := newPatcher(t, s)
	id := SeedNewUserID

	u := p.ok(id, `{"user_metadata":{"hobby":"surfing","addresses":{"home":"123 Main St","work":"1 Office Rd"}}}`)
	if u["email"] != "new@example.com" || u["user_id"] != id || u["identities"] == nil || u["created_at"] == nil {
		t.Errorf("response is not the whole user: %v", u)
	}

	// Top-level merge; the nested object is replaced, not merged.
	u = p.ok(id, `{"user_metadata":{"addresses":{"home":"456 Side St"},"color":"blue"}}`)
	want := map[string]any{"hobby": "surfing", "addresses": map[string]any{"home": "456 Side St"}, "color": "blue"}
	if !reflect.DeepEqual(u["user_metadata"], want) {
		t.Errorf("after merge %v, want %v", u["user_metadata"], want)
	}

	// null deletes exactly that key.
	u = p.ok(id, `{"user_metadata":{"color":null,"missing":null}}`)
	want = map[string]any{"hobby": "surfing", "addresses": map[string]any{"home": "456 Side St"}}
	if !reflect.DeepEqual(u["user_metadata"], want) {
		t.Errorf("after null %v, want %v", u["user_metadata"], want)
	}

	// app_metadata follows the same rules and is independent.
	u = p.ok(id, `{"app_metadata":{"roles":["admin"],"plan":{"tier":"gold","seats":3}}}`)
	u = p.ok(id, `{"app_metadata":{"plan":{"tier":"silver"}}}`)
	if !reflect.DeepEqual(u["app_metadata"], map[string]any{"roles": []any{"admin"}, "plan": map[string]any{"tier": "silver"}}) {
		t.Errorf("app_metadata %v", u["app_metadata"])
	}
	if !reflect.DeepEqual(u["user_metadata"], want) {
		t.Errorf("app_metadata patch touched user_metadata: %v", u["user_metadata"])
	}

	// {} clears the whole object, which Auth0 then omits.
	u = p.ok(id, `{"user_metadata":{}}`)
	if _, has := u["user_metadata"]; has {
		t.Errorf("after {} user_metadata = %v, want absent", u["user_metadata"])
	}
	if u["app_metadata"] == nil {
		t.Errorf("clearing user_metadata cleared app_metadata")
	}
	stored, _ := s.User(id)
	if !reflect.DeepEqual(stored, u) {
		t.Errorf("response and store disagree:\n%v\n%v", u, stored)
	}
}

func TestPatchRejectsBadInputAndWritesNothing(t *testing.T) {
	s := start(t, Config{})
	p := newPatcher(t, s)
	id := SeedReturningUserID
	before, _ := s.User(id)
	cases := map[string]string{
		"dot key":             `{"user_metadata":{"a.b":1}}`,
		"dollar key":          `{"user_metadata":{"$where":1}}`,
		"nested dot key":      `{"app_metadata":{"x":{"y":{"z.w":1}}}}`,
		"dollar key in array": `{"user_metadata":{"list":[{"$x":1}]}}`,
		"good and bad":        `{"user_metadata":{"fine":"yes"},"app_metadata":{"bad.key":1}}`,
		"unknown attribute":   `{"favourite_color":"red"}`,
		"metadata not object": `{"user_metadata":"x"}`,
		"metadata null":       `{"user_metadata":null}`,
		"blocked not boolean": `{"blocked":"true"}`,
		"given_name empty":    `{"given_name":""}`,
		"given_name too long": fmt.Sprintf(`{"given_name":%q}`, string(make([]byte, 151))),
		"bad email":           `{"email":"not-an-email"}`,
		"empty object":        `{}`,
		"not an object":       `[1,2]`,
		"not json":            `{"user_metadata":`,
		"trailing data":       `{"blocked":true} {"blocked":false}`,
		"foreign connection":  `{"connection":"nope"}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			wantAPIError(t, p.patch(id, body), http.StatusBadRequest, "invalid_body")
		})
	}
	after, _ := s.User(id)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("rejected PATCHes changed the user:\n%v\n%v", before, after)
	}
	if got := len(s.Patches()); got != len(cases) {
		t.Errorf("recorded %d PATCH bodies, want %d (every one received)", got, len(cases))
	}
}

// Root attributes are accepted as Auth0 accepts them, so hardening tests can
// prove the service never sends them.
func TestPatchRootAttributes(t *testing.T) {
	s := start(t, Config{})
	p := newPatcher(t, s)
	u := p.ok(SeedNewUserID, `{"given_name":"Neo","family_name":"Anderson","blocked":true,"email_verified":true,"picture":"https://x/p.png","phone_number":"+15555550100","nickname":"neo","name":"Thomas"}`)
	for k, v := range map[string]any{
		"given_name": "Neo", "family_name": "Anderson", "blocked": true, "email_verified": true,
		"picture": "https://x/p.png", "phone_number": "+15555550100", "nickname": "neo", "name": "Thomas",
	} {
		if u[k] != v {
			t.Errorf("%s = %v, want %v", k, u[k], v)
		}
	}

	// Changing the email resets email_verified; the old address is free again.
	u = p.ok(SeedNewUserID, `{"email":"Neo@Example.com","connection":"Username-Password-Authentication"}`)
	if u["email"] != "neo@example.com" || u["email_verified"] != false {
		t.Errorf("email %v verified %v", u["email"], u["email_verified"])
	}
	if _, err := s.CreateUser(NewUser{Connection: DatabaseConnection, Email: "new@example.com", Password: "x"}); err != nil {
		t.Errorf("old email still taken: %v", err)
	}
	wantAPIError(t, p.patch(SeedNewUserID, `{"email":"returning@example.com"}`), http.StatusConflict, "email_conflict")

	// A new password works at once and is recorded as a reset.
	u = p.ok(SeedEnrichedUserID, `{"password":"n3w-Passw0rd","connection":"Username-Password-Authentication"}`)
	if u["last_password_reset"] == nil || u["password"] != nil {
		t.Errorf("last_password_reset %v password %v", u["last_password_reset"], u["password"])
	}
	if r := passwordLogin(t, s, "enriched@example.com", SeedPassword); r.status != http.StatusForbidden {
		t.Errorf("old password still works: %d", r.status)
	}
	if r := passwordLogin(t, s, "enriched@example.com", "n3w-Passw0rd"); r.status != http.StatusOK {
		t.Errorf("new password refused: %d %s", r.status, r.body)
	}
	wantAPIError(t, p.patch(SeedSocialUserID, `{"password":"x"}`), http.StatusBadRequest, "operation_not_supported")
}

// updated_at strictly increases even when the clock stands still.
func TestPatchUpdatedAtStrictlyIncreases(t *testing.T) {
	frozen := time.Date(2026, 11, 29, 1, 7, 48, 123_456_789, time.UTC)
	s := start(t, Config{Now: func() time.Time { return frozen }})
	p := newPatcher(t, s)
	var last time.Time
	for i := range 5 {
		u := p.ok(SeedNewUserID, fmt.Sprintf(`{"user_metadata":{"n":%d}}`, i))
		at := mustParseTime(t, u["updated_at"])
		if !at.After(last) {
			t.Fatalf("PATCH %d: updated_at %v not after %v", i, at, last)
		}
		last = at
	}
	if u, _ := s.User(SeedNewUserID); u["updated_at"] != "2026-11-29T01:07:48.128Z" {
		t.Errorf("updated_at %v, want created at 48.123 then five 1 ms steps", u["updated_at"])
	}
}

// Concurrent PATCHes of distinct keys on one user all land: the merge is
// atomic per request.
func TestConcurrentPatchesOfOneUser(t *testing.T) {
	s := start(t, Config{})
	p := newPatcher(t, s)
	const writers = 40
	var wg sync.WaitGroup
	errs := make(chan string, writers)
	for i := range writers {
		wg.Go(func() {
			r, err := doErr(http.MethodPatch, userURL(s, SeedNewUserID), p.h, fmt.Sprintf(`{"user_metadata":{"k%d":%d}}`, i, i))
			if err != nil || r.status != http.StatusOK {
				errs <- fmt.Sprintf("writer %d: %d %v", i, r.status, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	u, _ := s.User(SeedNewUserID)
	meta := u["user_metadata"].(map[string]any)
	for i := range writers {
		if meta[fmt.Sprintf("k%d", i)] != float64(i) {
			t.Errorf("k%d lost: %v", i, meta[fmt.Sprintf("k%d", i)])
		}
	}
	if len(s.Patches()) != writers || s.Count(RoutePatchUser) != writers {
		t.Errorf("recorded %d patches, counted %d", len(s.Patches()), s.Count(RoutePatchUser))
	}
}

func TestCreateUserHTTPValidation(t *testing.T) {
	s := start(t, Config{})
	h := bearer(managementToken(t, s, ""))
	h.Set("Content-Type", "application/json")
	post := func(body string) httpResult {
		return do(t, http.MethodPost, s.URL()+"/api/v2/users", h, body)
	}
	wantAPIError(t, post(`{"email":"a@example.com","password":"x"}`), http.StatusBadRequest, "invalid_body")
	wantAPIError(t, post(`{"connection":"Username-Password-Authentication","email":"a@example.com"}`), http.StatusBadRequest, "invalid_body")
	wantAPIError(t, post(`{"connection":"Username-Password-Authentication","password":"x"}`), http.StatusBadRequest, "invalid_body")
	wantAPIError(t, post(`{"connection":"Username-Password-Authentication","email":"a@example.com","password":"x","roles":[]}`), http.StatusBadRequest, "invalid_body")
	wantAPIError(t, post(`{"connection":"Username-Password-Authentication","email":"a@example.com","password":"x","user_metadata":{"a.b":1}}`), http.StatusBadRequest, "invalid_body")
	wantAPIError(t, post(`{"connection":"google-oauth2","email":"a@example.com"}`), http.StatusBadRequest, "operation_not_supported")
	body := wantAPIError(t, post(`{"connection":"Username-Password-Authentication","email":"NEW@example.com","password":"x"}`), http.StatusConflict, "auth0_idp_error")
	if body["message"] != "The user already exists." {
		t.Errorf("409 message %v", body["message"])
	}

	r := post(`{"connection":"Username-Password-Authentication","user_id":"custom42","email":"b@example.com","password":"x","given_name":"Bea","user_metadata":{"k":"v"},"app_metadata":{"plan":"free"},"email_verified":true}`)
	if r.status != http.StatusCreated {
		t.Fatalf("%d %s", r.status, r.body)
	}
	u := r.json(t)
	if u["user_id"] != "auth0|custom42" || u["given_name"] != "Bea" || u["email_verified"] != true ||
		u["user_metadata"].(map[string]any)["k"] != "v" || u["app_metadata"].(map[string]any)["plan"] != "free" {
		t.Errorf("created %v", u)
	}
	if _, has := u["logins_count"]; has {
		t.Errorf("a never-logged-in user has logins_count %v (Auth0 omits it)", u["logins_count"])
	}
	if u["created_at"] != u["updated_at"] {
		t.Errorf("created_at %v updated_at %v", u["created_at"], u["updated_at"])
	}
	if s.Count(RouteCreateUser) != 8 {
		t.Errorf("Count(create) %d", s.Count(RouteCreateUser))
	}
}
