package cache

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/progressive-profiling/bff/profiling"
)

// freshTTL returns a fresh period in (TTL*(1-Jitter), TTL], so entries
// filled together expire apart and no entry is fresh longer than TTL.
func (c *Cache) freshTTL() time.Duration {
	cut := time.Duration(rand.Float64() * c.cfg.Jitter * float64(c.cfg.TTL))
	return max(c.cfg.TTL-cut, time.Millisecond)
}

// entryTTL is how long Redis keeps an entry: its fresh period, then
// MaxStale for answering while upstream is down.
func (c *Cache) entryTTL(fresh time.Duration) time.Duration {
	if c.cfg.MaxStale > 0 {
		fresh += c.cfg.MaxStale
	}
	return max(fresh, time.Millisecond)
}

// entry is what Redis holds for one user, as compact JSON under
// KeyPrefix+id. Its shape is this package's own, versioned by the key
// prefix (DefaultKeyPrefix): change any JSON name or meaning here and bump
// the prefix with it. Version must stay the first field: storeScript reads
// it from the start of the JSON.
type entry struct {
	// Version is the user's updated_at in Unix milliseconds (0 for a
	// missing user): what storeScript compares.
	Version int64 `json:"updated_ms"`
	// FetchedAt is when the copy was read from, or written to, upstream
	// (Unix milliseconds); it decides whether the copy meets a caller's
	// profiling.Read and is the age of a stale answer.
	FetchedAt int64 `json:"fetched_ms"`
	// FreshUntil ends the fresh period (Unix milliseconds).
	FreshUntil int64 `json:"fresh_ms"`
	// Missing marks a user upstream reported missing (no User then).
	Missing bool        `json:"missing,omitempty"`
	User    *storedUser `json:"user,omitempty"`
}

// storedUser is profiling.User as an entry stores it. Names follow Auth0's
// attribute names, so an entry is easy to read next to an Auth0 record.
type storedUser struct {
	ID             string           `json:"user_id"`
	Email          string           `json:"email,omitempty"`
	EmailVerified  bool             `json:"email_verified,omitempty"`
	Name           string           `json:"name,omitempty"`
	Nickname       string           `json:"nickname,omitempty"`
	Picture        string           `json:"picture,omitempty"`
	GivenName      string           `json:"given_name,omitempty"`
	FamilyName     string           `json:"family_name,omitempty"`
	PhoneNumber    string           `json:"phone_number,omitempty"`
	CreatedAt      time.Time        `json:"created_at,omitzero"`
	UpdatedAt      time.Time        `json:"updated_at,omitzero"`
	LastLogin      time.Time        `json:"last_login,omitzero"`
	LoginsCount    int64            `json:"logins_count,omitempty"`
	Identities     []storedIdentity `json:"identities,omitempty"`
	RootAttributes map[string]any   `json:"root_attributes,omitempty"`
	UserMetadata   map[string]any   `json:"user_metadata,omitempty"`
	AppMetadata    map[string]any   `json:"app_metadata,omitempty"`
}

type storedIdentity struct {
	Connection  string         `json:"connection,omitempty"`
	Provider    string         `json:"provider,omitempty"`
	UserID      string         `json:"user_id,omitempty"`
	IsSocial    bool           `json:"isSocial,omitempty"`
	ProfileData map[string]any `json:"profileData,omitempty"`
}

func toStored(u *profiling.User) *storedUser {
	s := &storedUser{
		ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name, Nickname: u.Nickname,
		Picture: u.Picture, GivenName: u.GivenName, FamilyName: u.FamilyName, PhoneNumber: u.PhoneNumber,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLogin: u.LastLogin, LoginsCount: u.LoginsCount,
		RootAttributes: u.RootAttributes, UserMetadata: u.UserMetadata, AppMetadata: u.AppMetadata,
	}
	for _, id := range u.Identities {
		s.Identities = append(s.Identities, storedIdentity(id))
	}
	return s
}

func (s *storedUser) user() *profiling.User {
	u := &profiling.User{
		ID: s.ID, Email: s.Email, EmailVerified: s.EmailVerified, Name: s.Name, Nickname: s.Nickname,
		Picture: s.Picture, GivenName: s.GivenName, FamilyName: s.FamilyName, PhoneNumber: s.PhoneNumber,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, LastLogin: s.LastLogin, LoginsCount: s.LoginsCount,
		RootAttributes: s.RootAttributes, UserMetadata: s.UserMetadata, AppMetadata: s.AppMetadata,
	}
	for _, id := range s.Identities {
		u.Identities = append(u.Identities, profiling.Identity(id))
	}
	return u
}

// cached is a decoded entry.
type cached struct {
	user       *profiling.User // nil when upstream reported the user missing
	raw        []byte
	fetched    time.Time
	freshUntil time.Time
}

func (e *cached) missing() bool { return e.user == nil }

// answers reports whether the entry may answer r at now without asking
// upstream: still in its fresh period, and a copy r accepts.
func (e *cached) answers(now time.Time, r profiling.Read) bool {
	return now.Before(e.freshUntil) && r.Satisfies(e.user, e.fetched)
}

func version(u *profiling.User) int64 {
	if u.UpdatedAt.IsZero() {
		return 0
	}
	return max(u.UpdatedAt.UnixMilli(), 0)
}

// encodeUser returns the user's entry, as bytes and as the struct they
// encode (for readBack), and how long Redis should keep it.
func (c *Cache) encodeUser(u *profiling.User, fetched time.Time) ([]byte, entry, time.Duration, error) {
	fresh := c.freshTTL()
	en := entry{
		Version:    version(u),
		FetchedAt:  fetched.UnixMilli(),
		FreshUntil: fetched.Add(fresh).UnixMilli(),
		User:       toStored(u),
	}
	raw, err := json.Marshal(en)
	return raw, en, c.entryTTL(fresh - time.Since(fetched)), err
}

// readBack returns decodeJSON(raw, id) for raw = json.Marshal(en), built
// from en instead of decoding raw: a cold read's JSON decode of its own
// encoding was a tenth of its instructions. It decodes raw after all when
// en holds something whose JSON does not read back as itself (see
// readBackUser). TestReadBackIsWhatDecodingGives holds the two equal.
func readBack(raw []byte, en entry, id string) (*cached, error) {
	if en.User != nil && en.User.ID == id && !en.Missing {
		if u, ok := readBackUser(en.User); ok {
			return &cached{user: u, raw: raw, fetched: time.UnixMilli(en.FetchedAt), freshUntil: time.UnixMilli(en.FreshUntil)}, nil
		}
	}
	return decodeJSON(raw, id)
}

// readBackUser returns the user that decoding s's JSON gives, as a deep
// copy sharing nothing with s, or false when that is not plainly s: a
// string that is not valid UTF-8 (encoding/json replaces its bad bytes), a
// time with a zone offset (decoding gives a zone of its own) or a metadata
// value of a type JSON does not decode into (an int, a []string, a struct).
// What it does follow: omitempty leaves empty maps and identities out, so
// they read back as nil; a time reads back in UTC, without its monotonic
// reading, to the nanosecond.
func readBackUser(s *storedUser) (*profiling.User, bool) {
	for _, str := range [...]string{s.ID, s.Email, s.Name, s.Nickname, s.Picture, s.GivenName, s.FamilyName, s.PhoneNumber} {
		if !utf8.ValidString(str) {
			return nil, false
		}
	}
	u := &profiling.User{
		ID: s.ID, Email: s.Email, EmailVerified: s.EmailVerified, Name: s.Name, Nickname: s.Nickname,
		Picture: s.Picture, GivenName: s.GivenName, FamilyName: s.FamilyName, PhoneNumber: s.PhoneNumber,
		LoginsCount: s.LoginsCount,
	}
	ok1, ok2, ok3 := true, true, true
	u.CreatedAt, ok1 = readBackTime(s.CreatedAt)
	u.UpdatedAt, ok2 = readBackTime(s.UpdatedAt)
	u.LastLogin, ok3 = readBackTime(s.LastLogin)
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	var ok bool
	if u.RootAttributes, ok = readBackObject(s.RootAttributes); !ok {
		return nil, false
	}
	if u.UserMetadata, ok = readBackObject(s.UserMetadata); !ok {
		return nil, false
	}
	if u.AppMetadata, ok = readBackObject(s.AppMetadata); !ok {
		return nil, false
	}
	if len(s.Identities) > 0 {
		u.Identities = make([]profiling.Identity, len(s.Identities))
		for i, id := range s.Identities {
			if !utf8.ValidString(id.Connection) || !utf8.ValidString(id.Provider) || !utf8.ValidString(id.UserID) {
				return nil, false
			}
			out := profiling.Identity{Connection: id.Connection, Provider: id.Provider, UserID: id.UserID, IsSocial: id.IsSocial}
			if out.ProfileData, ok = readBackObject(id.ProfileData); !ok {
				return nil, false
			}
			u.Identities[i] = out
		}
	}
	return u, true
}

// readBackTime is what an omitzero time.Time field reads back as. JSON
// holds it in RFC 3339 to the nanosecond, with Z for a zero offset, which
// decodes into UTC; any other offset decodes into a zone the decoder makes.
func readBackTime(t time.Time) (time.Time, bool) {
	if t.IsZero() {
		return time.Time{}, true
	}
	if _, off := t.Zone(); off != 0 {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// readBackObject is what an omitempty map[string]any field reads back as.
func readBackObject(m map[string]any) (map[string]any, bool) {
	if len(m) == 0 {
		return nil, true
	}
	return readBackMap(m)
}

func readBackMap(m map[string]any) (map[string]any, bool) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if !utf8.ValidString(k) {
			return nil, false
		}
		w, ok := readBackValue(v)
		if !ok {
			return nil, false
		}
		out[k] = w
	}
	return out, true
}

// readBackValue is what v reads back as when decoded into an any: only
// what encoding/json decodes into one reads back as itself. A nil map or
// slice is JSON null, an untyped nil.
func readBackValue(v any) (any, bool) {
	switch t := v.(type) {
	case nil, bool, float64:
		return v, true // a float64 that encodes at all (not NaN or ±Inf) reads back to the bit
	case string:
		return v, utf8.ValidString(t)
	case map[string]any:
		if t == nil {
			return nil, true
		}
		return readBackMap(t)
	case []any:
		if t == nil {
			return nil, true
		}
		out := make([]any, len(t))
		for i, x := range t {
			w, ok := readBackValue(x)
			if !ok {
				return nil, false
			}
			out[i] = w
		}
		return out, true
	}
	return nil, false
}

// copyFor returns a copy of the entry for one caller, with its own user.
func (e *cached) copyFor(raw []byte) *cached {
	c := *e
	c.raw = raw
	if e.user != nil {
		c.user = cloneUser(e.user)
	}
	return &c
}

// cloneUser deep-copies a user as decoded from JSON: its maps hold only
// what encoding/json decodes into an any (maps, slices, strings, float64,
// bool, nil). A new reference-typed field of profiling.User must be copied
// here; TestCloneUserCopiesEveryField fails until it is.
func cloneUser(u *profiling.User) *profiling.User {
	c := *u
	if u.Identities != nil {
		c.Identities = make([]profiling.Identity, len(u.Identities))
		for i, id := range u.Identities {
			id.ProfileData = cloneMap(id.ProfileData)
			c.Identities[i] = id
		}
	}
	c.RootAttributes = cloneMap(u.RootAttributes)
	c.UserMetadata = cloneMap(u.UserMetadata)
	c.AppMetadata = cloneMap(u.AppMetadata)
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneJSON(v)
	}
	return out
}

func cloneJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		if t == nil {
			return t
		}
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = cloneJSON(x)
		}
		return out
	}
	return v
}

// decodeJSON turns an entry into a fresh user (or a missing-user record),
// rejecting entries that are not JSON, do not fit the entry shape, or hold
// another user (which also catches "{}" and "null"). Callers decode through
// localCopies.decode, which answers most decodes with a copy instead.
func decodeJSON(raw []byte, id string) (*cached, error) {
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("cache: decode user %q: %w", id, err)
	}
	out := &cached{raw: raw, fetched: time.UnixMilli(e.FetchedAt), freshUntil: time.UnixMilli(e.FreshUntil)}
	if e.Missing && e.User == nil {
		return out, nil
	}
	if e.User == nil || e.User.ID != id {
		return nil, fmt.Errorf("cache: entry for user %q does not hold that user", id)
	}
	out.user = e.User.user()
	return out, nil
}
