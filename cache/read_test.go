package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/testkit"

	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/profiling"
)

// The write path's read under the lock must never be answered by a fill
// that started before it: that fill may predate another instance's write,
// and a patch computed from it would drop that write's bookkeeping.
func TestExclusiveReadNeverJoinsAFillInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old := sampleUser("auth0|exclusive")
	store := testkit.NewUsers(old)
	c := e.newCache(store, cache.Config{})

	entered, release := store.HoldReads()
	readerDone := make(chan *profiling.User, 1)
	go func() {
		u, _, _ := c.User(context.Background(), old.ID, profiling.Read{})
		readerDone <- u
	}()
	<-entered // the reader's fill is upstream, holding the old copy

	// Another instance writes the user meanwhile.
	written := sampleUser(old.ID)
	written.AppMetadata = map[string]any{profiling.BookkeepingKey: map[string]any{"collected": map[string]any{"company": "x"}}}
	written.UpdatedAt = old.UpdatedAt.Add(time.Second)
	store.Set(written)

	exclusiveDone := make(chan *profiling.User, 1)
	go func() {
		u, _, err := c.User(context.Background(), old.ID, profiling.Read{Exclusive: true})
		if err != nil {
			t.Error(err)
		}
		exclusiveDone <- u
	}()
	select {
	case <-entered: // its own upstream read
	case <-time.After(5 * time.Second):
		t.Fatal("the exclusive read did not make an upstream read of its own: it joined the fill in flight")
	}
	release()
	if u := <-exclusiveDone; u == nil || u.AppMetadata[profiling.BookkeepingKey] == nil {
		t.Fatalf("exclusive read returned %+v, want the copy with the other instance's write", u)
	}
	<-readerDone
	if n := store.Reads(); n != 2 {
		t.Fatalf("upstream reads = %d, want 2", n)
	}
}

// A reader whose token was first seen after a fill started may not be
// answered by that fill; it waits for one of its own, and later readers
// with the same token share that one.
func TestAReaderNeverTakesAFillOlderThanItsToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := sampleUser("auth0|newer-token")
	store := testkit.NewUsers(u)
	c := e.newCache(store, cache.Config{})

	entered, release := store.HoldReads()
	go c.User(context.Background(), u.ID, profiling.Read{})
	<-entered // a fill from before the token

	time.Sleep(2 * time.Millisecond) // stores keep milliseconds
	read := profiling.ReadForToken(profiling.Token{IssuedAt: time.Now(), FirstSeen: time.Now(), Unique: true}, time.Now())
	relogged := sampleUser(u.ID)
	relogged.LoginsCount = u.LoginsCount + 1
	store.Set(relogged)

	done := make(chan *profiling.User, 1)
	go func() {
		got, _, err := c.User(context.Background(), u.ID, read)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	// Let the reader join the fill in flight before it ends (waiting is
	// not asserting: a reader that came late would pass either way).
	time.Sleep(100 * time.Millisecond)
	release()
	got := <-done
	if got == nil || got.LoginsCount != relogged.LoginsCount {
		t.Fatalf("reader got %+v, want the copy read after its token (logins %d)", got, relogged.LoginsCount)
	}
	for range 5 {
		if again, _, err := c.User(context.Background(), u.ID, read); err != nil || again.LoginsCount != relogged.LoginsCount {
			t.Fatalf("later read with the same token: %+v, %v", again, err)
		}
	}
	if n := store.Reads(); n != 2 {
		t.Fatalf("upstream reads = %d, want 2 (the old fill, then one for the token)", n)
	}
}

// A client that leaves must not cost an upstream read: its Redis read
// fails with its own cancellation, which says nothing about Redis and asks
// nothing of upstream.
func TestACallerThatLeftCostsNoUpstreamRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := sampleUser("auth0|gone")
	store := testkit.NewUsers(u)
	c := e.newCache(store, cache.Config{})
	mustUser(t, c, u.ID)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		if _, _, err := c.User(ctx, u.ID, profiling.Read{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("read by a caller that left: %v, want context.Canceled", err)
		}
	}
	if n := store.Reads(); n != 1 {
		t.Fatalf("20 reads by callers that left made %d upstream reads, want 0", n-1)
	}
}
