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
	// User returns the user with the given id.
	User(ctx context.Context, id string) (*User, error)
	// UpdateUser applies p and returns the user as the store holds it after
	// the change.
	UpdateUser(ctx context.Context, id string, p Patch) (*User, error)
}

var (
	// ErrUserNotFound means the store has no user with that id.
	ErrUserNotFound = errors.New("user not found")
	// ErrUpstreamUnavailable means the store could not answer in time
	// (outage, rate limit, timeout); the request may succeed later.
	ErrUpstreamUnavailable = errors.New("user store unavailable")
)

type freshAfterKey struct{}

// WithFreshAfter asks every store under ctx for a copy of the user read at or
// after t. The caller passes the moment its access token was issued: a token
// newer than a cached copy means the user may have logged in since, which
// changes logins_count and last_login, so the stages depend on a fresh read.
// One fresh read per new token keeps this cheap.
func WithFreshAfter(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, freshAfterKey{}, t)
}

// FreshAfter returns the time set by WithFreshAfter, or the zero time.
func FreshAfter(ctx context.Context) time.Time {
	t, _ := ctx.Value(freshAfterKey{}).(time.Time)
	return t
}

// IsFreshFor reports whether a copy of u fetched at fetchedAt may answer a
// caller that asked for WithFreshAfter(ctx, after). Token times have whole
// seconds, so the copy qualifies when it already shows a login in or after
// that second, or when it was fetched in a later second: either way no login
// up to `after` can be missing from it.
func IsFreshFor(u *User, fetchedAt, after time.Time) bool {
	if after.IsZero() {
		return true
	}
	sec := after.Truncate(time.Second)
	return !u.LastLogin.Truncate(time.Second).Before(sec) || fetchedAt.Truncate(time.Second).After(sec)
}
