package redistest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/internal/redistest"
)

func newClient(t *testing.T, s *redistest.Server) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(s.URL())
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", s.URL(), err)
	}
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	// Generous, so a loaded machine cannot fail a test; tests that expect
	// a timeout give the command a short context instead.
	opt.ReadTimeout = 10 * time.Second
	opt.WriteTimeout = 10 * time.Second
	opt.ContextTimeoutEnabled = true
	client := redis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	return client
}

func TestStartServesCommands(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/0") {
		t.Fatalf("URL() = %q, want redis://127.0.0.1:<port>/0", s.URL())
	}
	if !strings.Contains(s.URL(), s.Addr()) {
		t.Fatalf("URL() = %q does not contain Addr() = %q", s.URL(), s.Addr())
	}
	c := newClient(t, s)
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v; want v", got, err)
	}
}

func TestParallelServersGetTheirOwnPorts(t *testing.T) {
	t.Parallel()
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers share %s", a.Addr())
	}
	ctx := t.Context()
	if err := newClient(t, a).Set(ctx, "only-in-a", "1", 0).Err(); err != nil {
		t.Fatalf("SET on a: %v", err)
	}
	if n, err := newClient(t, b).Exists(ctx, "only-in-a").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS on b = %d, %v; want 0 (servers must not share data)", n, err)
	}
}

func TestStopAndRestartOnSamePortWithFreshData(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	addr := s.Addr()
	c := newClient(t, s)
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}

	s.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded on a stopped server")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("port still accepts connections after Stop")
	}
	s.Stop() // stopping twice is harmless

	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr())
	}
	// The first command may land on a pooled connection the kill broke;
	// a fresh client sees the restarted server straight away.
	c2 := newClient(t, s)
	if err := c2.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	if n, err := c2.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS k after Restart = %d, %v; want 0 (fresh data)", n, err)
	}
}

func TestPauseBlackholesUntilResume(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := newClient(t, s)
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}

	s.Pause()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	err := c.Ping(ctx).Err()
	cancel()
	var netErr net.Error
	if err == nil || !(errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()) {
		t.Fatalf("PING on a paused server = %v; want a timeout", err)
	}

	s.Resume()
	if err := newClient(t, s).Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}
}

func TestRunForTestMainAndClose(t *testing.T) {
	t.Parallel()
	s, err := redistest.Run()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := newClient(t, s).Ping(t.Context()).Err(); err != nil {
		s.Close()
		t.Fatalf("PING: %v", err)
	}
	s.Close()
	if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatal("port still accepts connections after Close")
	}
}

func TestMissingBinaryNamesTheInstallCommand(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // an empty directory: no redis-server
	_, err := redistest.Run()
	if err == nil {
		t.Fatal("Run succeeded without redis-server on PATH")
	}
	if !strings.Contains(err.Error(), "apt-get install redis-server") {
		t.Fatalf("error %q does not say how to install redis-server", err)
	}

	// Start reports the same through the test it was given.
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(rec)
	}()
	<-done
	if !strings.Contains(rec.msg, "apt-get install redis-server") {
		t.Fatalf("Start failed the test with %q; want it to say how to install redis-server", rec.msg)
	}
}

// fatalRecorder captures what Start would fail a test with, so the failure
// path itself can be asserted on.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestClusterOwnsEverySlot(t *testing.T) {
	t.Parallel()
	s := redistest.StartCluster(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{s.Addr()}, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	// Keys in different slots all land on the one node.
	for _, k := range []string{"a", "b", "{user}:1", "pp:v1:user:auth0|x"} {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatalf("SET %s on the cluster: %v", k, err)
		}
	}
	slots, err := c.ClusterSlots(ctx).Result()
	if err != nil || len(slots) != 1 || slots[0].Start != 0 || slots[0].End != 16383 {
		t.Fatalf("CLUSTER SLOTS = %+v, %v; want one range 0-16383", slots, err)
	}

	s.Restart()
	plain := newClient(t, s)
	if info, err := plain.ClusterInfo(ctx).Result(); err != nil || !strings.Contains(info, "cluster_state:ok") {
		t.Fatalf("after Restart CLUSTER INFO = %q, %v; want cluster_state:ok", info, err)
	}
	if n, err := plain.Exists(ctx, "a").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS a after Restart = %d, %v; want 0 (fresh data)", n, err)
	}
}

func TestSentinelResolvesItsMaster(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "pp-master")
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    "pp-master",
		SentinelAddrs: []string{sentinel.Addr()},
		MaxRetries:    -1,
	})
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	if err := c.Set(ctx, "through-sentinel", "1", 0).Err(); err != nil {
		t.Fatalf("SET through sentinel: %v", err)
	}
	if got, err := newClient(t, master).Get(ctx, "through-sentinel").Result(); err != nil || got != "1" {
		t.Fatalf("GET on the master = %q, %v; want the value written through the sentinel", got, err)
	}
}
