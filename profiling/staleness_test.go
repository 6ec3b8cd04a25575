package profiling

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestNoteStaleNeedsANoteAndKeepsTheOldestAge(t *testing.T) {
	if NoteStale(context.Background(), time.Minute) {
		t.Fatal("NoteStale without a note reported that the stale copy may be served")
	}
	ctx, note := WithStaleNote(context.Background())
	if _, stale := note.Stale(); stale {
		t.Fatal("a fresh note reports stale")
	}
	if !NoteStale(ctx, 2*time.Minute) || !NoteStale(ctx, time.Minute) {
		t.Fatal("NoteStale under a note reported false")
	}
	if age, stale := note.Stale(); !stale || age != 2*time.Minute {
		t.Fatalf("note = (%v, %v), want (2m, true): the oldest copy decides", age, stale)
	}

	// A note installed below takes the records made under it.
	inner, innerNote := WithStaleNote(ctx)
	NoteStale(inner, time.Hour)
	if age, _ := note.Stale(); age != 2*time.Minute {
		t.Fatalf("outer note saw the inner call: age %v", age)
	}
	if age, stale := innerNote.Stale(); !stale || age != time.Hour {
		t.Fatalf("inner note = (%v, %v), want (1h, true)", age, stale)
	}
}

// staleStore answers every read from a copy it pretends it could not
// refresh: as a cache does while the identity provider is down.
type staleStore struct {
	*memStore
	age time.Duration
}

func (s *staleStore) User(ctx context.Context, id string) (*User, error) {
	if !NoteStale(ctx, s.age) {
		return nil, fmt.Errorf("staleStore: no note to flag a stale copy: %w", ErrUpstreamUnavailable)
	}
	return s.memStore.User(ctx, id)
}

func TestServiceReadsMayBeStaleButChangesAreNeverComputedFromStaleCopies(t *testing.T) {
	store := &staleStore{memStore: newMemStore(t, newUser(2, time.Hour, named)), age: 3 * time.Minute}
	svc := NewService(mustDefaultRules(t), store, fixedClock)

	ctx, note := WithStaleNote(context.Background())
	if _, err := svc.Profile(ctx, "auth0|ada"); err != nil {
		t.Fatalf("Profile from a stale copy under a note: %v", err)
	}
	if age, stale := note.Stale(); !stale || age != 3*time.Minute {
		t.Fatalf("the request's note = (%v, %v), want the 3m stale read flagged", age, stale)
	}

	_, _, err := svc.Answer(ctx, "auth0|ada", map[string]any{"company": "AE Ltd"}, "")
	if !errors.Is(err, ErrUpstreamUnavailable) {
		t.Fatalf("Answer computed from a stale copy: err %v, want ErrUpstreamUnavailable", err)
	}
	_, _, err = svc.Skip(ctx, "auth0|ada", []string{"company"}, "")
	if !errors.Is(err, ErrUpstreamUnavailable) {
		t.Fatalf("Skip computed from a stale copy: err %v, want ErrUpstreamUnavailable", err)
	}
	if calls := store.callLog(); slices.Contains(calls, "update") {
		t.Fatalf("a change was written from a stale copy; store calls %v", calls)
	}
}
