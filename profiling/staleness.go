package profiling

import (
	"context"
	"sync"
	"time"
)

// StaleNote records, for one request, that a store answered from a copy of a
// user it could not refresh because the identity provider was unavailable.
// The layer that builds the response installs one (WithStaleNote) and flags
// the response; a store serves a stale copy only when a note is there to
// carry that flag (NoteStale), so nobody is answered from stale data
// without being told. It is safe for concurrent use.
type StaleNote struct {
	mu     sync.Mutex
	served bool
	age    time.Duration // of the oldest copy served
}

type staleNoteKey struct{}

// WithStaleNote returns a context whose stores record stale answers in the
// returned note. A note installed further down replaces this one for the
// calls made under it.
func WithStaleNote(ctx context.Context) (context.Context, *StaleNote) {
	n := &StaleNote{}
	return context.WithValue(ctx, staleNoteKey{}, n), n
}

// NoteStale records that a copy of age was served in place of a fresh read.
// It reports false when ctx carries no note: the store must then not serve
// the stale copy, since nobody would flag it.
func NoteStale(ctx context.Context, age time.Duration) bool {
	n, _ := ctx.Value(staleNoteKey{}).(*StaleNote)
	if n == nil {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.served = true
	n.age = max(n.age, age)
	return true
}

// Stale reports whether any answer under the note came from a stale copy,
// and the age of the oldest such copy.
func (n *StaleNote) Stale() (age time.Duration, stale bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.age, n.served
}
