package auth0store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

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

// UnmarshalJSON reads the SDK's struct, then the other root attributes.
// encoding/json calls it with a value it has already checked, and the
// SDK's decoder checks it again, so the SDK's decoder is called directly
// rather than through json.Unmarshal, and the other root attributes are
// found by restAttributes' walk over the checked bytes rather than by a
// third decode of the whole answer: only the attributes kept here are
// decoded a second time, not the metadata and identities.
func (u *auth0User) UnmarshalJSON(b []byte) error {
	if err := u.User.UnmarshalJSON(b); err != nil {
		return err
	}
	rest, err := restAttributes(b)
	if err != nil {
		return err
	}
	u.rest = rest
	return nil
}

// restAttributes decodes the root attributes of the JSON object b that are
// not in notRest, as decoding b into a map[string]any and deleting those
// would (nil when none is left, and for null). b must be valid JSON, as
// the SDK's decoder has just found it: the walk only finds where each
// attribute's name and value begin and end.
func restAttributes(b []byte) (map[string]any, error) {
	i := skipSpace(b, 0)
	if i < len(b) && b[i] == 'n' {
		return nil, nil // null
	}
	if i >= len(b) || b[i] != '{' {
		return nil, errors.New("auth0store: the answer is not a JSON object")
	}
	var rest map[string]any
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == '}' {
			return rest, nil
		}
		start := i
		i = skipString(b, i)
		name, err := attributeName(b[start:i])
		if err != nil {
			return nil, err
		}
		i = skipSpace(b, i) + 1 // the colon
		i = skipSpace(b, i)
		start = i
		i = skipValue(b, i)
		if i > len(b) {
			return nil, errors.New("auth0store: the answer ends inside a value")
		}
		if !notRest[name] {
			var v any
			if err := json.Unmarshal(b[start:i], &v); err != nil {
				return nil, err
			}
			if rest == nil {
				rest = map[string]any{}
			}
			rest[name] = v // as a map decode, the last of a repeated name wins
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}

// attributeName unquotes a JSON string as encoding/json does: plain ASCII
// as it is, anything else (escapes, non-ASCII, which it checks for valid
// UTF-8) through encoding/json itself.
func attributeName(q []byte) (string, error) {
	if len(q) < 2 {
		return "", errors.New("auth0store: the answer ends inside a name")
	}
	for _, c := range q[1 : len(q)-1] {
		if c == '\\' || c >= utf8.RuneSelf {
			var s string
			err := json.Unmarshal(q, &s)
			return s, err
		}
	}
	return string(q[1 : len(q)-1]), nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b) + 1
}

// skipValue returns the index after the JSON value starting at b[i], or
// more than len(b) if it does not end.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b) + 1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b) + 1
	}
	for i < len(b) { // a number, true, false or null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
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
