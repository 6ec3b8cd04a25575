package cache_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/auth0store"
	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/figures"
	"github.com/progressive-profiling/bff/profiling"
)

// lateGets hands every GET's reply back up to max late, after Redis
// answered it: a miss seen before a fill stored the user and acted on after
// the fill ended, the window fill's recheck exists for. It sends every
// other command slow late, so readers also begin while a store is on its
// way.
type lateGets struct {
	max, slow time.Duration
	gets      atomic.Int64
}

func (h *lateGets) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *lateGets) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "get" {
			time.Sleep(h.slow)
			return next(ctx, cmd)
		}
		err := next(ctx, cmd)
		h.gets.Add(1)
		time.Sleep(rand.N(h.max))
		return err
	}
}

func (h *lateGets) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// Readers of one uncached user on one instance, arriving before, during
// and after its fill ends (their misses seen before the store, acted on
// after the fill left the flight), cost one Auth0 read in all: a reader
// that finds no fill in flight rechecks Redis when this instance stored
// the user since the reader began.
func TestReadersAcrossAFillsEndCostOneAuth0Read(t *testing.T) {
	t.Parallel()
	const trials, readers = 4, 100
	emu, err := auth0emu.Listen("127.0.0.1:0", auth0emu.Config{RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	if err := emu.SeedLoadUsers(trials); err != nil {
		t.Fatal(err)
	}
	store, err := auth0store.New(context.Background(), auth0store.Config{
		Domain: emu.URL(), ClientID: emu.Config().ClientID, ClientSecret: emu.Config().ClientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	late := &lateGets{max: 20 * time.Millisecond, slow: 5 * time.Millisecond}
	e.rdb.AddHook(late)
	c := e.newCache(store, cache.Config{UpstreamWait: time.Minute, FillTimeout: time.Minute})

	reads, rechecks := 0, int64(0)
	for trial := range trials {
		id := auth0emu.LoadUserID(trial + 1)
		readsBefore, getsBefore := emu.Count(auth0emu.RouteGetUser), late.gets.Load()
		var wg sync.WaitGroup
		for k := range readers {
			wg.Go(func() {
				time.Sleep(time.Duration(k) * 500 * time.Microsecond) // spread over 50ms, across the fill's end
				if _, _, err := c.User(context.Background(), id, profiling.Read{}); err != nil {
					t.Errorf("reader %d: %v", k, err)
				}
			})
		}
		wg.Wait()
		n := emu.Count(auth0emu.RouteGetUser) - readsBefore
		if n != 1 {
			t.Errorf("trial %d: %d readers of one uncached user cost %d Auth0 reads, want 1", trial, readers, n)
		}
		reads += n
		rechecks += late.gets.Load() - getsBefore - readers // GETs beyond each reader's lookup
	}
	if rechecks == 0 {
		t.Fatal("no fill rechecked Redis: no reader arrived in the window under test")
	}
	figures.Report(t, "readers across a fill's end: %d trials of %d readers, %d Auth0 reads, %d rechecks in all", trials, readers, reads, rechecks)
}
