package userlock_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/internal/redistest"
	"github.com/progressive-profiling/bff/internal/syncbuf"
	"github.com/progressive-profiling/bff/internal/testkit"
	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/redisconn"
	"github.com/progressive-profiling/bff/userlock"
)

// env is one test's real redis-server and the logs of the locks it makes.
type env struct {
	redis *redistest.Server
	rdb   redis.UniversalClient
	logs  *syncbuf.Buffer
}

// slowMachineTimeout replaces the production Redis timeouts: on a loaded
// machine a reply can take longer than those, and a lock that timed out
// writes without serialising, which is not what these tests are about.
const slowMachineTimeout = 10 * time.Second

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := redistest.Start(t)
	d := slowMachineTimeout.String()
	rdb, closeRDB, err := redisconn.Connect(context.Background(), srv.URL()+"?dial_timeout="+d+"&read_timeout="+d+"&write_timeout="+d+"&pool_timeout="+d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeRDB() })
	return &env{redis: srv, rdb: rdb, logs: &syncbuf.Buffer{}}
}

// newLocks returns locks with a guard of their own, as each service
// instance has; the guard's gauge goes to cfg.Metrics too.
func (e *env) newLocks(cfg userlock.Config) *userlock.Locks {
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	guard := redisconn.NewGuard(e.rdb, redisconn.GuardConfig{Timeout: slowMachineTimeout, Logger: cfg.Logger, Metrics: cfg.Metrics})
	return userlock.New(e.rdb, guard, cfg)
}

func TestLockUserSerialisesWritersAcrossInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.newLocks(userlock.Config{}), e.newLocks(userlock.Config{})

	const writers = 20
	var inside, overlaps, done atomic.Int64
	var wg sync.WaitGroup
	for i := range writers {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			unlock, err := c.LockUser(context.Background(), "auth0|locked")
			if err != nil {
				t.Error(err)
				return
			}
			if inside.Add(1) != 1 {
				overlaps.Add(1)
			}
			time.Sleep(time.Millisecond) // widen the window an overlap would need
			inside.Add(-1)
			done.Add(1)
			unlock()
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d writers held the lock together", n)
	}
	if n := done.Load(); n != writers {
		t.Fatalf("%d of %d writers got the lock", n, writers)
	}
	if n, _ := e.rdb.Exists(context.Background(), a.Key("auth0|locked")).Result(); n != 0 {
		t.Fatal("the lock is still held after every writer unlocked")
	}
}

func TestLockUserGivesUpAfterLockWaitAsUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	holder := e.newLocks(userlock.Config{})
	waiter := e.newLocks(userlock.Config{Wait: 50 * time.Millisecond, Metrics: reg})
	unlock, err := holder.LockUser(context.Background(), "auth0|busy")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := waiter.LockUser(context.Background(), "auth0|busy"); !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("LockUser while another holds it: %v, want ErrUpstreamUnavailable", err)
	}
	if n := testkit.MetricValue(t, reg, "bff_cache_user_lock_total", "outcome", "timeout"); n != 1 {
		t.Fatalf("lock timeouts counted %v, want 1", n)
	}

	// The caller's own deadline ends the wait too.
	patient := e.newLocks(userlock.Config{Wait: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := patient.LockUser(ctx, "auth0|busy"); !errors.Is(err, profiling.ErrUpstreamUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockUser past the caller's deadline: %v", err)
	}
}

// A holder that died frees the user after the lock's TTL; and when it comes back,
// its late unlock must not release the lock someone else now holds.
func TestExpiredLockPassesOnAndItsOwnerCannotReleaseTheNext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newLocks(userlock.Config{TTL: 100 * time.Millisecond, Wait: time.Minute})
	staleUnlock, err := c.LockUser(context.Background(), "auth0|crashed")
	if err != nil {
		t.Fatal(err)
	}
	// Never unlocked in time: the next writer gets in after the TTL.
	unlock, err := c.LockUser(context.Background(), "auth0|crashed")
	if err != nil {
		t.Fatalf("lock of an expired holder: %v", err)
	}
	held, _ := e.rdb.Get(context.Background(), c.Key("auth0|crashed")).Result()
	staleUnlock()
	if now, _ := e.rdb.Get(context.Background(), c.Key("auth0|crashed")).Result(); now != held || now == "" {
		t.Fatalf("the expired owner's unlock released the current holder's lock (%q -> %q)", held, now)
	}
	unlock()
	if n, _ := e.rdb.Exists(context.Background(), c.Key("auth0|crashed")).Result(); n != 0 {
		t.Fatal("the current holder's unlock did not release the lock")
	}
}

func TestLockUserWithRedisDownWritesWithoutTheLock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	c := e.newLocks(userlock.Config{Metrics: reg})
	e.redis.Stop()
	for range 2 * redisconn.DefaultBreakerThreshold { // failing, then skipped by the breaker
		unlock, err := c.LockUser(context.Background(), "auth0|no-redis")
		if err != nil {
			t.Fatalf("LockUser with Redis down: %v, want a no-op lock", err)
		}
		unlock()
	}
	if n := testkit.MetricValue(t, reg, "bff_cache_user_lock_total", "outcome", "redis_unavailable"); n != 2*redisconn.DefaultBreakerThreshold {
		t.Fatalf("writes without the lock counted %v, want %d", n, 2*redisconn.DefaultBreakerThreshold)
	}
	if !strings.Contains(e.logs.String(), "writing without it") {
		t.Fatalf("writing without the lock was not logged; log:\n%s", e.logs)
	}
}
