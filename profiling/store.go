package profiling

import (
	"context"
	"errors"
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
