package profiling

import (
	"context"
	"errors"
	"time"
)

// UserStore reads and changes users in the identity provider.
//
// Implementations return errors that wrap ErrUserNotFound or
// ErrUpstreamUnavailable where those apply, so callers can tell a missing
// user from an outage without knowing which store they talk to.
type UserStore interface {
	// User returns the user with the given id, as r requires, and where the
	// copy came from.
	User(ctx context.Context, id string, r Read) (*User, ReadInfo, error)
	// UpdateUser applies p and returns the user as the store holds it after
	// the change.
	UpdateUser(ctx context.Context, id string, p Patch) (*User, error)
}

// Read is what a caller requires of the copy of a user a store returns. The
// zero Read accepts any copy the store holds as fresh.
type Read struct {
	// After asks for a copy read from the identity provider at or after
	// this instant: a login up to After must show in it. See ReadForToken.
	After time.Time
	// MinLogins asks for a copy that shows at least this many logins (0:
	// no such requirement), for tokens that carry the login count.
	MinLogins int64
	// AllowStale lets the store answer from a copy it could not refresh
	// because the identity provider is unavailable; ReadInfo.Stale then
	// says so. Only a caller that tells its client may set it.
	AllowStale bool
	// Exclusive asks for a copy no older than this call: from a read that
	// started after it (never one another caller started earlier and is
	// still waiting for), or from a shared copy every completed write has
	// already updated. The write path sets it under the user's lock, so a
	// change is never computed from a copy older than the last write.
	Exclusive bool
}

// ReadInfo says where the copy a store returned came from.
type ReadInfo struct {
	// Stale is set when the copy is older than the Read asked for, served
	// because the identity provider was unavailable (only with AllowStale).
	Stale bool
	// Age is how long ago a stale copy was read from the identity provider.
	Age time.Duration
}

// Locker serialises the writers of one user (across instances, e.g. with a
// Redis lock). Answer and Skip read the user, compute a patch from what they
// read, and write it; the bookkeeping object in that patch replaces the
// stored one whole, so two unserialised writers can lose each other's
// records. The Service holds the lock from the read to the write.
type Locker interface {
	// LockUser blocks until the caller holds the user's write lock, or ctx
	// ends. unlock releases it and must be called exactly once.
	LockUser(ctx context.Context, id string) (unlock func(), err error)
}

// NoLocks is a Locker that serialises nothing: for a single writer (tools,
// tests), or a deployment that accepts the bookkeeping race.
type NoLocks struct{}

// LockUser returns at once.
func (NoLocks) LockUser(context.Context, string) (func(), error) { return func() {}, nil }

var (
	// ErrUserNotFound means the store has no user with that id.
	ErrUserNotFound = errors.New("user not found")
	// ErrUpstreamUnavailable means the store could not answer in time
	// (outage, rate limit, timeout); the request may succeed later.
	ErrUpstreamUnavailable = errors.New("user store unavailable")
)

// Token is what an access token tells about the login it came from.
type Token struct {
	// IssuedAt is the token's iat (whole seconds): the login happened no
	// later than the end of that second.
	IssuedAt time.Time
	// FirstSeen is when this instance first saw the token.
	FirstSeen time.Time
	// Unique is set when the token carries a unique id (jti, as Auth0's
	// RFC 9068 token profile issues): then no other login produced the
	// same token, so its login happened before FirstSeen. Without one, two
	// logins in the same second can produce byte-identical tokens.
	Unique bool
	// LoginsCount is the login count the token carries (a post-login
	// Action's custom claim), 0 when it carries none.
	LoginsCount int64
}

// ReadForToken returns the read a request carrying t needs at now so that
// no login up to t is missing from the user's stage.
//
// A token with a login count needs a copy that shows that many logins:
// exact, and free when the cached copy already does. Otherwise a login
// happened at most at the end of the token's iat second, so a copy read
// after that second is current. Within the second itself, a copy read
// earlier in it cannot be known to hold the login (a second login may
// follow in the same second): a unique token's login happened before the
// token was first seen, so a copy read after that will do (one read per
// token per instance); a token without a unique id may come from a login
// a moment ago, so the copy must be read after the request arrived (now).
// That costs a read per request only while the token's second lasts.
func ReadForToken(t Token, now time.Time) Read {
	if t.LoginsCount > 0 {
		return Read{MinLogins: t.LoginsCount, AllowStale: true}
	}
	if t.IssuedAt.IsZero() {
		return Read{AllowStale: true}
	}
	after := t.IssuedAt.Truncate(time.Second).Add(time.Second)
	switch {
	case t.Unique && !t.FirstSeen.IsZero() && t.FirstSeen.Before(after):
		after = t.FirstSeen
	case now.Before(after):
		after = now
	}
	return Read{After: after, AllowStale: true}
}

// Satisfies reports whether a copy of u read from the identity provider at
// fetchedAt is what r asks for (freshness in time is the store's business).
// Times compare to the millisecond, the precision stores keep: a token
// reaches this service well over a millisecond after Auth0 issued it.
func (r Read) Satisfies(u *User, fetchedAt time.Time) bool {
	if r.MinLogins > 0 && (u == nil || u.LoginsCount < r.MinLogins) {
		return false
	}
	return r.After.IsZero() || !fetchedAt.Before(r.After.Truncate(time.Millisecond))
}
