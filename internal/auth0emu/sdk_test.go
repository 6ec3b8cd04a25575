package auth0emu

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"testing"

	"github.com/auth0/go-auth0/management"
)

// The real go-auth0 client, unchanged, reads a seeded user over HTTP: the
// client-credentials token fetch, the escaped id and the user JSON all work.
func TestSDKReadsSeededUser(t *testing.T) {
	s := start(t, Config{})
	m := sdk(t, s)
	ctx := context.Background()

	u, err := m.User.Read(ctx, SeedReturningUserID)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if u.GetID() != SeedReturningUserID || u.GetEmail() != "returning@example.com" || u.GetLoginsCount() != 3 {
		t.Errorf("read %s %s logins %d", u.GetID(), u.GetEmail(), u.GetLoginsCount())
	}
	if got := u.GetUserMetadata()["first_name"]; got != "Ada" {
		t.Errorf("user_metadata.first_name = %v", got)
	}
	if len(u.Identities) != 1 || u.Identities[0].GetConnection() != DatabaseConnection || u.Identities[0].GetProvider() != "auth0" {
		t.Errorf("identities %+v", u.Identities)
	}
	if u.CreatedAt == nil || u.UpdatedAt == nil || u.LastLogin == nil {
		t.Errorf("dates missing: created %v updated %v last login %v", u.CreatedAt, u.UpdatedAt, u.LastLogin)
	}
	social, err := m.User.Read(ctx, SeedSocialUserID)
	if err != nil {
		t.Fatalf("Read social: %v", err)
	}
	if social.GetGivenName() != "Grace" || !social.Identities[0].GetIsSocial() || social.Identities[0].GetUserID() != "109876543210987654321" {
		t.Errorf("social user %+v identities %+v", social, social.Identities[0])
	}
	// go-auth0 copes with the numeric user_id of the linked GitHub identity.
	ent, err := m.User.Read(ctx, SeedEnterpriseUserID)
	if err != nil {
		t.Fatalf("Read enterprise: %v", err)
	}
	if len(ent.Identities) != 2 || ent.Identities[1].GetUserID() != SeedLinkedGitHubID || ent.Identities[1].GetProvider() != "github" {
		t.Errorf("enterprise identities %+v", ent.Identities)
	}
	if n := s.Count(RouteToken); n != 1 {
		t.Errorf("token endpoint called %d times, want 1 (Basic auth accepted on the first try)", n)
	}
	if n := s.Count(RouteGetUser); n != 3 {
		t.Errorf("GET user counted %d, want 3", n)
	}
}

// PATCH through the SDK: top-level merge, nested replacement, null delete,
// {} clear, and the whole user in the response.
func TestSDKUpdateMetadataSemantics(t *testing.T) {
	s := start(t, Config{})
	m := sdk(t, s)
	ctx := context.Background()
	id := SeedReturningUserID
	before, _ := s.User(id)

	um := map[string]any{"company": "Initech", "address": map[string]any{"city": "Austin"}}
	patch := &management.User{UserMetadata: &um}
	if err := m.User.Update(ctx, id, patch); err != nil {
		t.Fatalf("Update: %v", err)
	}
	// The SDK writes the response back into its argument: the whole user.
	if patch.GetEmail() != "returning@example.com" || patch.GetUserMetadata()["first_name"] != "Ada" || patch.GetUserMetadata()["company"] != "Initech" {
		t.Errorf("response is not the whole merged user: %+v", patch.GetUserMetadata())
	}

	// A nested object is replaced whole, not merged.
	um = map[string]any{"address": map[string]any{"zip": "78701"}}
	if err := m.User.Update(ctx, id, &management.User{UserMetadata: &um}); err != nil {
		t.Fatalf("Update nested: %v", err)
	}
	got, _ := s.User(id)
	if addr := got["user_metadata"].(map[string]any)["address"]; !reflect.DeepEqual(addr, map[string]any{"zip": "78701"}) {
		t.Errorf("address = %v, want the nested object replaced by {zip}", addr)
	}

	// null deletes one key and leaves the others.
	um = map[string]any{"company": nil}
	if err := m.User.Update(ctx, id, &management.User{UserMetadata: &um}); err != nil {
		t.Fatalf("Update null: %v", err)
	}
	got, _ = s.User(id)
	meta := got["user_metadata"].(map[string]any)
	if _, still := meta["company"]; still || meta["first_name"] != "Ada" {
		t.Errorf("after null delete user_metadata = %v", meta)
	}
	// app_metadata untouched by user_metadata patches.
	if !reflect.DeepEqual(got["app_metadata"], before["app_metadata"]) {
		t.Errorf("app_metadata changed: %v", got["app_metadata"])
	}

	// {} clears the object; Auth0 then omits it.
	empty := map[string]any{}
	if err := m.User.Update(ctx, id, &management.User{AppMetadata: &empty}); err != nil {
		t.Fatalf("Update {}: %v", err)
	}
	got, _ = s.User(id)
	if _, present := got["app_metadata"]; present {
		t.Errorf("app_metadata after {} = %v, want absent", got["app_metadata"])
	}
	if got["user_metadata"] == nil {
		t.Errorf("clearing app_metadata touched user_metadata")
	}
}

func TestSDKRejectsDotAndDollarKeys(t *testing.T) {
	s := start(t, Config{})
	m := sdk(t, s)
	for _, meta := range []map[string]any{
		{"a.b": "x"},
		{"$set": "x"},
		{"ok": map[string]any{"nested.dot": 1}},
		{"ok": []any{map[string]any{"$in": 1}}},
	} {
		before, _ := s.User(SeedNewUserID)
		err := m.User.Update(context.Background(), SeedNewUserID, &management.User{UserMetadata: &meta})
		var mErr management.Error
		if !errors.As(err, &mErr) || mErr.Status() != http.StatusBadRequest {
			t.Errorf("metadata %v: err %v, want a 400", meta, err)
		}
		after, _ := s.User(SeedNewUserID)
		if !reflect.DeepEqual(before, after) {
			t.Errorf("metadata %v: a rejected PATCH changed the user", meta)
		}
	}
}

func TestSDKNotFound(t *testing.T) {
	s := start(t, Config{})
	m := sdk(t, s)
	_, err := m.User.Read(context.Background(), "auth0|doesnotexist")
	var mErr management.Error
	if !errors.As(err, &mErr) || mErr.Status() != http.StatusNotFound {
		t.Fatalf("err %v, want a 404 management.Error", err)
	}
}

// POST /api/v2/users through the SDK: root attributes stored, generated id,
// no login yet, duplicates refused, and the new user can log in.
func TestSDKCreateUser(t *testing.T) {
	s := start(t, Config{})
	m := sdk(t, s)
	ctx := context.Background()
	conn, email, pass := DatabaseConnection, "Linus@Example.com", "s3cret-Pass"
	given, family := "Linus", "Torvalds"
	u := &management.User{Connection: &conn, Email: &email, Password: &pass, GivenName: &given, FamilyName: &family}
	if err := m.User.Create(ctx, u); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !regexp.MustCompile(`^auth0\|[0-9a-f]{24}$`).MatchString(u.GetID()) {
		t.Errorf("id %q, want auth0|<24 hex>", u.GetID())
	}
	if u.GetEmail() != "linus@example.com" || u.GetGivenName() != "Linus" || u.GetFamilyName() != "Torvalds" {
		t.Errorf("created %s %s %s", u.GetEmail(), u.GetGivenName(), u.GetFamilyName())
	}
	if u.GetLoginsCount() != 0 || u.LastLogin != nil || u.GetEmailVerified() {
		t.Errorf("new user: logins %d last login %v verified %v", u.GetLoginsCount(), u.LastLogin, u.GetEmailVerified())
	}
	if u.GetName() != "linus@example.com" || u.GetNickname() != "linus" || u.GetPicture() == "" {
		t.Errorf("defaults: name %q nickname %q picture %q", u.GetName(), u.GetNickname(), u.GetPicture())
	}
	if u.Password != nil && *u.Password != pass {
		t.Errorf("password echoed differently")
	}
	stored, _ := s.User(u.GetID())
	if _, leaked := stored["password"]; leaked {
		t.Errorf("the stored user JSON holds the password")
	}

	again := &management.User{Connection: &conn, Email: new("linus@EXAMPLE.com"), Password: &pass}
	err := m.User.Create(ctx, again)
	var mErr management.Error
	if !errors.As(err, &mErr) || mErr.Status() != http.StatusConflict {
		t.Errorf("duplicate email: err %v, want 409", err)
	}

	if r := passwordLogin(t, s, "linus@example.com", pass); r.status != http.StatusOK {
		t.Errorf("created user cannot log in: %d %s", r.status, r.body)
	}
	after, _ := s.User(u.GetID())
	if after["logins_count"] != float64(1) {
		t.Errorf("logins_count after login = %v", after["logins_count"])
	}
}
