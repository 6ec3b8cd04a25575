package auth0store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/auth0/go-auth0/management"

	"github.com/progressive-profiling/bff/profiling"
)

// auth0User is a user as the Management API answers it: go-auth0's struct
// for the attributes it knows, whose decoding copes with Auth0's
// inconsistent types (email_verified as a string, an identity's user_id as a
// number), plus every other root attribute by name. The struct alone would
// drop what an enterprise connection puts at the root (company, title,
// department, ...).
type auth0User struct {
	management.User
	rest map[string]any
}

// typedAttributes have a profiling.User field of their own.
var typedAttributes = []string{
	"user_id", "email", "email_verified", "name", "nickname", "picture", "given_name", "family_name",
	"phone_number", "created_at", "updated_at", "last_login", "logins_count", "identities",
	"user_metadata", "app_metadata",
}

// accountAttributes are about the account rather than the person: they are
// left out of the snapshot, so no cache holds them.
var accountAttributes = []string{
	"last_ip", "last_password_reset", "blocked", "multifactor", "phone_verified", "password",
	"client_id", "verify_email", "connection",
}

// notRest are the attributes left out of auth0User.rest.
var notRest = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range slices.Concat(typedAttributes, accountAttributes) {
		m[k] = true
	}
	return m
}()

// UnmarshalJSON reads the SDK's struct, then the other root attributes. Two
// things keep it to about three quarters of the instructions it took when
// it decoded the whole answer twice (callgrind, the returning seed user):
// encoding/json calls it with a value it has already checked, so the SDK's
// decoder is called directly rather than through json.Unmarshal, which
// would check and scan the answer once more; and the root is split into
// raw values first, so only the attributes kept here are decoded a second
// time, not the metadata and identities.
func (u *auth0User) UnmarshalJSON(b []byte) error {
	if err := u.User.UnmarshalJSON(b); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	u.rest = nil
	for k, raw := range all {
		if notRest[k] {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if u.rest == nil {
			u.rest = map[string]any{}
		}
		u.rest[k] = v
	}
	return nil
}

// exchange is a PATCH for management.Management.Request, which encodes its
// payload as the body and decodes the answer into the same value: send is
// the body, answer receives the user.
type exchange struct {
	send   any
	answer *auth0User
}

func (x *exchange) MarshalJSON() ([]byte, error) { return json.Marshal(x.send) }

func (x *exchange) UnmarshalJSON(b []byte) error { return x.answer.UnmarshalJSON(b) }

// toDomain copies an Auth0 user into the domain's snapshot. The maps are the
// ones just decoded for this call, so nothing is shared.
func toDomain(u *auth0User) *profiling.User {
	out := &profiling.User{
		ID:             u.GetID(),
		Email:          u.GetEmail(),
		EmailVerified:  u.GetEmailVerified(),
		Name:           u.GetName(),
		Nickname:       u.GetNickname(),
		Picture:        u.GetPicture(),
		GivenName:      u.GetGivenName(),
		FamilyName:     u.GetFamilyName(),
		PhoneNumber:    u.GetPhoneNumber(),
		CreatedAt:      u.GetCreatedAt(),
		UpdatedAt:      u.GetUpdatedAt(),
		LastLogin:      u.GetLastLogin(),
		LoginsCount:    u.GetLoginsCount(),
		UserMetadata:   deref(u.UserMetadata),
		AppMetadata:    deref(u.AppMetadata),
		RootAttributes: u.rest,
	}
	for _, i := range u.Identities {
		if i == nil {
			continue
		}
		out.Identities = append(out.Identities, profiling.Identity{
			Connection:  i.GetConnection(),
			Provider:    i.GetProvider(),
			UserID:      i.GetUserID(),
			IsSocial:    i.GetIsSocial(),
			ProfileData: deref(i.ProfileData),
		})
	}
	return out
}

// deref keeps an absent object absent (the SDK's getters would return an
// empty map), so the snapshot says what Auth0 said.
func deref(m *map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return *m
}

// DecodeUser reads a user as the Management API returns one (a GET
// /api/v2/users/{id} body) into the domain's snapshot, exactly as the
// Store does: for tools that describe a user in a file or a request.
func DecodeUser(b []byte) (*profiling.User, error) {
	var u auth0User
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, fmt.Errorf("not a user as Auth0 returns it: %w", err)
	}
	out := toDomain(&u)
	if out.ID == "" {
		return nil, errors.New("user_id is missing")
	}
	return out, nil
}
