package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/internal/redistest"
	"github.com/progressive-profiling/bff/ratelimit"
)

func client(t *testing.T, rs *redistest.Server) redis.UniversalClient {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// One instance's deadline reaches another through Redis; the later of two
// deadlines wins whoever writes last; the key expires at the deadline.
func TestDeadlineIsSharedAndOnlyRaised(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	rdb := client(t, rs)
	a := ratelimit.NewRedis(rdb, ratelimit.RedisOptions{})
	b := ratelimit.NewRedis(client(t, rs), ratelimit.RedisOptions{})

	if until, err := b.Until(ctx); err != nil || !until.IsZero() {
		t.Fatalf("fresh budget: %v %v, want no deadline", until, err)
	}
	later := time.Now().Add(3 * time.Second).Truncate(time.Millisecond)
	if err := a.Exhausted(ctx, later); err != nil {
		t.Fatal(err)
	}
	c := ratelimit.NewRedis(client(t, rs), ratelimit.RedisOptions{})
	if err := c.Exhausted(ctx, later.Add(-2*time.Second)); err != nil { // an earlier reset, written last
		t.Fatal(err)
	}
	time.Sleep(110 * time.Millisecond) // b read the key less than Refresh ago
	if until, err := b.Until(ctx); err != nil || !until.Equal(later) {
		t.Errorf("other instance: until %v (err %v), want the later deadline %v", until, err, later)
	}
	if pttl := rdb.PTTL(ctx, ratelimit.DefaultKey).Val(); pttl <= 2*time.Second || pttl > 3*time.Second {
		t.Errorf("key expires in %v, want at the deadline, about 3s", pttl)
	}
}

// While no deadline is known, the key is read at most once per Refresh:
// another instance's deadline is seen after Refresh, not per call.
func TestRedisIsReadAtMostOncePerRefresh(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	const refresh = 200 * time.Millisecond
	b := ratelimit.NewRedis(client(t, rs), ratelimit.RedisOptions{Refresh: refresh})
	if _, err := b.Until(ctx); err != nil { // reads now
		t.Fatal(err)
	}
	until := time.Now().Add(2 * time.Second)
	if err := ratelimit.NewRedis(client(t, rs), ratelimit.RedisOptions{}).Exhausted(ctx, until); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Until(ctx); !got.IsZero() {
		t.Errorf("read again within Refresh: got %v", got)
	}
	time.Sleep(refresh + 20*time.Millisecond)
	if got, _ := b.Until(ctx); !got.Equal(until.Truncate(time.Millisecond)) {
		t.Errorf("after Refresh: got %v, want %v", got, until)
	}
}

// Redis down: the memo answers at once and the error is reported beside it.
func TestRedisDownFallsBackToTheMemo(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	b := ratelimit.NewRedis(client(t, rs), ratelimit.RedisOptions{Refresh: time.Millisecond})
	rs.Stop()
	until := time.Now().Add(time.Second)
	if err := b.Exhausted(ctx, until); err == nil {
		t.Errorf("Exhausted with Redis down reported no error")
	}
	start := time.Now()
	got, _ := b.Until(ctx)
	if !got.Equal(until) {
		t.Errorf("memo lost the deadline: %v, want %v", got, until)
	}
	time.Sleep(time.Until(until) + 10*time.Millisecond)
	got, err := b.Until(ctx)
	if err == nil || !got.Before(time.Now()) {
		t.Errorf("after the deadline with Redis down: %v %v, want a past deadline and the Redis error", got, err)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("Until took %v with Redis down", took)
	}
}

func TestMemoKeepsTheLaterDeadline(t *testing.T) {
	var m ratelimit.Memo
	ctx := context.Background()
	t0 := time.Unix(1000, 0)
	_ = m.Exhausted(ctx, t0.Add(time.Second))
	_ = m.Exhausted(ctx, t0)
	if got, _ := m.Until(ctx); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("memo %v", got)
	}
}
