package testkit

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/progressive-profiling/bff/profiling"
)

// Users is an in-memory profiling.UserStore that applies patches as
// Auth0's Management API does (a top-level merge of each metadata object,
// nil deleting a key, updated_at moving on) and counts its calls. Errors
// and a slow network can be injected.
//
// Like a naive store it hands out the very *User it holds, so any sharing
// the code under test failed to prevent would show up as one caller's
// change reaching another; updates replace the stored user instead of
// mutating it.
type Users struct {
	reads   atomic.Int64
	updates atomic.Int64

	mu      sync.Mutex
	users   map[string]*profiling.User
	gate    chan struct{}
	entered chan context.Context
	readErr error
	putErr  error
	panics  bool
}

// NewUsers returns a store holding users.
func NewUsers(users ...*profiling.User) *Users {
	s := &Users{users: map[string]*profiling.User{}}
	for _, u := range users {
		s.users[u.ID] = u
	}
	return s
}

// Reads is how many User calls the store has had.
func (s *Users) Reads() int64 { return s.reads.Load() }

// Updates is how many UpdateUser calls the store has had.
func (s *Users) Updates() int64 { return s.updates.Load() }

// User returns the stored user. It meets any profiling.Read: it is the
// identity provider itself.
func (s *Users) User(ctx context.Context, id string, _ profiling.Read) (*profiling.User, profiling.ReadInfo, error) {
	s.reads.Add(1)
	s.mu.Lock()
	gate, entered, readErr, panics := s.gate, s.entered, s.readErr, s.panics
	// The read sees the store as it is when the call arrives; the gate
	// holds its answer on the way back, as a slow network would.
	u, ok := s.users[id]
	s.mu.Unlock()
	if panics {
		panic("testkit.Users: malformed upstream user")
	}
	if gate != nil {
		entered <- ctx
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, profiling.ReadInfo{}, ctx.Err()
		}
	}
	if readErr != nil {
		return nil, profiling.ReadInfo{}, readErr
	}
	if !ok {
		return nil, profiling.ReadInfo{}, fmt.Errorf("testkit.Users: user %q: %w", id, profiling.ErrUserNotFound)
	}
	return u, profiling.ReadInfo{}, nil
}

// UpdateUser applies p as Auth0 does and returns the new user.
func (s *Users) UpdateUser(_ context.Context, id string, p profiling.Patch) (*profiling.User, error) {
	s.updates.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.putErr != nil {
		return nil, s.putErr
	}
	old, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("testkit.Users: user %q: %w", id, profiling.ErrUserNotFound)
	}
	u := *old
	u.UserMetadata = merge(old.UserMetadata, p.UserMetadata)
	u.AppMetadata = merge(old.AppMetadata, p.AppMetadata)
	u.UpdatedAt = old.UpdatedAt.Add(time.Second)
	s.users[id] = &u
	return &u, nil
}

// merge is Auth0's PATCH of one metadata object: top-level keys replaced
// whole, nil deleting.
func merge(old, patch map[string]any) map[string]any {
	out := maps.Clone(old)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Set stores u (replacing the user with its id), as a write that bypassed
// the code under test would.
func (s *Users) Set(u *profiling.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// SetAs stores u under id whatever u's own id: a store that answers with
// the wrong user.
func (s *Users) SetAs(id string, u *profiling.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = u
}

// Get returns the stored user, or nil.
func (s *Users) Get(id string) *profiling.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[id]
}

// Delete removes the user.
func (s *Users) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, id)
}

// FailReads makes every User call fail with err (nil: succeed again).
func (s *Users) FailReads(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readErr = err
}

// FailUpdates makes every UpdateUser call fail with err (nil: succeed).
func (s *Users) FailUpdates(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putErr = err
}

// Panic makes User calls panic, as go-auth0 does on a malformed user.
func (s *Users) Panic(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.panics = on
}

// HoldReads makes User calls wait until release is called (or their
// context ends); entered receives each held call's context.
func (s *Users) HoldReads() (entered <-chan context.Context, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = make(chan struct{})
	s.entered = make(chan context.Context, 1000)
	gate := s.gate
	var once sync.Once
	return s.entered, func() { once.Do(func() { close(gate) }) }
}
