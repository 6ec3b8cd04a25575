package profiling

import (
	"reflect"
	"time"
)

// User is the service's own snapshot of one identity-provider user. Adapters
// convert to it at the boundary, so no SDK type is ever cached or shared.
// The JSON tags follow Auth0's attribute names, for tests and logs; the
// cache stores its own versioned shape.
type User struct {
	ID            string     `json:"user_id"`
	Email         string     `json:"email,omitempty"`
	EmailVerified bool       `json:"email_verified,omitempty"`
	Name          string     `json:"name,omitempty"`
	Nickname      string     `json:"nickname,omitempty"`
	Picture       string     `json:"picture,omitempty"`
	GivenName     string     `json:"given_name,omitempty"`
	FamilyName    string     `json:"family_name,omitempty"`
	PhoneNumber   string     `json:"phone_number,omitempty"`
	CreatedAt     time.Time  `json:"created_at,omitzero"`
	UpdatedAt     time.Time  `json:"updated_at,omitzero"`
	LastLogin     time.Time  `json:"last_login,omitzero"`
	LoginsCount   int64      `json:"logins_count,omitempty"`
	Identities    []Identity `json:"identities,omitempty"`
	// RootAttributes are the user's other root attributes, keyed by name:
	// mostly what an enterprise connection (SAML, OIDC) maps from its
	// identity provider, such as company, title or department, which Auth0
	// puts at the user's root. Rules name them as sources.
	RootAttributes map[string]any `json:"root_attributes,omitempty"`

	// UserMetadata belongs to the user: answers are written here, one
	// top-level key per catalogue field.
	UserMetadata map[string]any `json:"user_metadata,omitempty"`
	// AppMetadata is server-only: roles, enrichment data and this service's
	// bookkeeping (see BookkeepingKey). No end-user input ever reaches it.
	AppMetadata map[string]any `json:"app_metadata,omitempty"`
}

// Identity is one identity-provider account linked to a user.
type Identity struct {
	Connection  string         `json:"connection,omitempty"`
	Provider    string         `json:"provider,omitempty"`
	UserID      string         `json:"user_id,omitempty"`
	IsSocial    bool           `json:"isSocial,omitempty"`
	ProfileData map[string]any `json:"profileData,omitempty"`
}

// Patch is the whole change one request makes to a user. Keys are top-level
// metadata keys; a nil value deletes the key (Auth0's PATCH semantics). There
// is deliberately no way to express a root attribute such as email or blocked.
type Patch struct {
	UserMetadata map[string]any
	AppMetadata  map[string]any
}

// IsEmpty reports whether the patch holds no key at all.
func (p Patch) IsEmpty() bool {
	return len(p.UserMetadata) == 0 && len(p.AppMetadata) == 0
}

// Changes reports whether applying p to u would change anything: a write
// that changes nothing is not worth one of Auth0's rate-limited calls.
func (p Patch) Changes(u *User) bool {
	return changesMetadata(p.UserMetadata, u.UserMetadata) || changesMetadata(p.AppMetadata, u.AppMetadata)
}

// changesMetadata compares a patch's top-level keys with the stored ones:
// Auth0 replaces each key's value whole, and a nil value deletes the key.
func changesMetadata(patch, stored map[string]any) bool {
	for k, v := range patch {
		old, present := stored[k]
		if v == nil {
			if present {
				return true
			}
			continue
		}
		if !present || !reflect.DeepEqual(old, v) {
			return true
		}
	}
	return false
}
