package profiling

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// UserLocker is optionally implemented by a UserStore that can serialise
// writers of one user (across instances, e.g. with a Redis lock). Answer and
// Skip read the user, compute a patch from what they read, and write it; the
// bookkeeping object in that patch replaces the stored one whole, so two
// unserialised writers can lose each other's records. When the store is a
// UserLocker, the Service holds the lock from the read to the write.
type UserLocker interface {
	// LockUser blocks until the caller holds the user's write lock, or ctx
	// ends. unlock releases it and must be called exactly once.
	LockUser(ctx context.Context, id string) (unlock func(), err error)
}

// Service runs the rules over a UserStore: read the user, evaluate, and
// write the patch an answer or skip produces. It is safe for concurrent use.
type Service struct {
	rules *Rules
	users UserStore
	now   func() time.Time
}

// NewService returns a Service. now is the clock (time.Now when nil); tests
// pass a fixed one.
func NewService(rules *Rules, users UserStore, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{rules: rules, users: users, now: now}
}

// Rules returns the rules the service runs.
func (s *Service) Rules() *Rules { return s.rules }

// Profile reads the user and evaluates the rules for them now. Store errors
// (ErrUserNotFound, ErrUpstreamUnavailable, ...) are returned wrapped.
func (s *Service) Profile(ctx context.Context, userID string) (*Profile, error) {
	u, err := s.readUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	return s.rules.Profile(u, s.now()), nil
}

// Answer validates and saves answers (see Rules.Answer). With problems,
// nothing is written and the profile is the user's current one. A store
// error is returned as the third value, wrapped.
func (s *Service) Answer(ctx context.Context, userID string, answers map[string]any, interaction string) (*Profile, []FieldError, error) {
	return s.change(ctx, userID, func(u *User, now time.Time) (Patch, []FieldError) {
		return s.rules.Answer(u, answers, interaction, now)
	})
}

// Skip records that the user chose not to answer keys now (see Rules.Skip).
func (s *Service) Skip(ctx context.Context, userID string, keys []string, interaction string) (*Profile, []FieldError, error) {
	return s.change(ctx, userID, func(u *User, now time.Time) (Patch, []FieldError) {
		return s.rules.Skip(u, keys, interaction, now)
	})
}

// errNoUser guards against a store that returns neither a user nor an error.
var errNoUser = errors.New("the user store returned no user")

func (s *Service) change(ctx context.Context, userID string, decide func(*User, time.Time) (Patch, []FieldError)) (*Profile, []FieldError, error) {
	if l, ok := s.users.(UserLocker); ok {
		unlock, err := l.LockUser(ctx, userID)
		if err != nil {
			return nil, nil, fmt.Errorf("lock user: %w", err)
		}
		defer unlock()
	}
	// The read happens under the lock, so the patch is computed from a copy
	// that already holds every earlier writer's change. A stale copy (served
	// while the store could not refresh it) might not, and the bookkeeping
	// object is written whole, so a change is never computed from one.
	readCtx, note := WithStaleNote(ctx)
	u, err := s.readUser(readCtx, userID)
	if err != nil {
		return nil, nil, err
	}
	if _, stale := note.Stale(); stale {
		return nil, nil, fmt.Errorf("read user: only a stale copy is available: %w", ErrUpstreamUnavailable)
	}
	now := s.now()
	patch, problems := decide(u, now)
	if len(problems) > 0 || patch.IsEmpty() {
		return s.rules.Profile(u, now), problems, nil
	}
	updated, err := s.users.UpdateUser(ctx, userID, patch)
	if err != nil {
		return nil, nil, fmt.Errorf("update user: %w", err)
	}
	if updated == nil {
		return nil, nil, fmt.Errorf("update user: %w", errNoUser)
	}
	return s.rules.Profile(updated, now), nil, nil
}

func (s *Service) readUser(ctx context.Context, userID string) (*User, error) {
	u, err := s.users.User(ctx, userID)
	if err == nil && u == nil {
		err = errNoUser
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}
