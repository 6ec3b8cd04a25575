package profiling

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Service runs the rules over a UserStore: read the user, evaluate, and
// write the patch an answer or skip produces. It is safe for concurrent use.
type Service struct {
	rules *Rules
	users UserStore
	locks Locker
	now   func() time.Time

	prompts PromptCounter // nil: no question budget (budget.go)
	funnel  Funnel        // funnel.go
}

// NewService returns a Service. locks serialises the writers of one user
// (NoLocks{} for none); now is the clock (time.Now when nil), and tests pass
// a fixed one.
func NewService(rules *Rules, users UserStore, locks Locker, now func() time.Time) *Service {
	if locks == nil {
		panic("profiling.NewService: nil Locker (use NoLocks{} for none)")
	}
	if now == nil {
		now = time.Now
	}
	return &Service{rules: rules, users: users, locks: locks, now: now, funnel: NoFunnel{}}
}

// Outcome is the result of an answer or a skip.
type Outcome struct {
	// Profile is the user after the change (or as read, when nothing was
	// written).
	Profile *Profile
	// Pending is what to ask next, in the request's interaction context,
	// or in none when that context itself was refused.
	Pending []PendingField
	// Problems are the refused answers; with any, nothing was written.
	Problems []FieldError
}

// Profile reads the user as r requires and evaluates the rules for them
// now. Store errors (ErrUserNotFound, ErrUpstreamUnavailable, ...) are
// returned wrapped.
func (s *Service) Profile(ctx context.Context, userID string, r Read) (*Profile, ReadInfo, error) {
	u, info, err := s.readUser(ctx, userID, r)
	if err != nil {
		return nil, info, err
	}
	now := s.now()
	return s.withPrompts(ctx, s.rules.Profile(u, now), now), info, nil
}

// Answer validates and saves answers (see Rules.Answer) for a request that
// needs r of the user. With problems, nothing is written and the profile is
// the user's current one. Store errors are returned wrapped.
func (s *Service) Answer(ctx context.Context, userID string, r Read, answers map[string]any, interaction string) (*Outcome, error) {
	return s.change(ctx, userID, r, interaction, func(u *User, now time.Time) (Patch, []FieldError) {
		return s.rules.Answer(u, answers, interaction, now)
	})
}

// Skip records that the user chose not to answer keys now (see Rules.Skip).
func (s *Service) Skip(ctx context.Context, userID string, r Read, keys []string, interaction string) (*Outcome, error) {
	return s.change(ctx, userID, r, interaction, func(u *User, now time.Time) (Patch, []FieldError) {
		return s.rules.Skip(u, keys, interaction, now)
	})
}

// errNoUser guards against a store that returns neither a user nor an error.
var errNoUser = errors.New("the user store returned no user")

func (s *Service) change(ctx context.Context, userID string, r Read, interaction string, decide func(*User, time.Time) (Patch, []FieldError)) (*Outcome, error) {
	unlock, err := s.locks.LockUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("lock user: %w", err)
	}
	defer unlock()
	// The read happens under the lock, and is a read of its own: the
	// bookkeeping object is written whole, so the patch must be computed
	// from a copy that holds every earlier writer's change, never from one
	// a reader fetched before the lock was taken, nor a stale one.
	r.Exclusive, r.AllowStale = true, false
	u, _, err := s.readUser(ctx, userID, r)
	if err != nil {
		return nil, err
	}
	now := s.now()
	patch, problems := decide(u, now)
	var before *Profile
	if len(problems) == 0 && patch.Changes(u) {
		before = s.rules.Profile(u, now)
		if u, err = s.users.UpdateUser(ctx, userID, patch); err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
		if u == nil {
			return nil, fmt.Errorf("update user: %w", errNoUser)
		}
	}
	profile := s.rules.Profile(u, now)
	if before != nil {
		s.reportWrite(before, profile)
	}
	profile = s.withPrompts(ctx, profile, now)
	pending, err := profile.Pending(nextContext(interaction, problems), nil)
	if err != nil {
		return nil, err
	}
	return &Outcome{Profile: profile, Pending: pending, Problems: problems}, nil
}

// nextContext is the interaction context to compute what to ask next in:
// the request's, unless that context itself was refused (its FieldError is
// the answer then, and the next fields are computed without one).
func nextContext(interaction string, problems []FieldError) string {
	for _, p := range problems {
		if p.Key == contextKey {
			return ""
		}
	}
	return interaction
}

func (s *Service) readUser(ctx context.Context, userID string, r Read) (*User, ReadInfo, error) {
	u, info, err := s.users.User(ctx, userID, r)
	if err == nil && u == nil {
		err = errNoUser
	}
	if err != nil {
		return nil, info, fmt.Errorf("read user: %w", err)
	}
	return u, info, nil
}
