package nearcache_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/internal/redistest"
	"github.com/progressive-profiling/bff/internal/testkit"
	"github.com/progressive-profiling/bff/nearcache"
)

const prefix = "t:"

// setup starts a redis-server, a near cache on it, and a second client
// playing every other instance.
func setup(t *testing.T, cfg nearcache.Config) (*redistest.Server, *nearcache.Cache, *redis.Client, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	other := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close(); other.Close() })
	if cfg.Prefixes == nil {
		cfg.Prefixes = []string{prefix}
	}
	c, err := nearcache.Open(context.Background(), rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return srv, c, rdb, other
}

// loader reads a key with GET and counts its calls.
type loader struct {
	rdb   *redis.Client
	calls atomic.Int64
}

func (l *loader) get(key string) func(context.Context) (nearcache.Value, error) {
	return func(ctx context.Context) (nearcache.Value, error) {
		l.calls.Add(1)
		b, err := l.rdb.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return nearcache.Value{}, nil
		}
		if err != nil {
			return nearcache.Value{}, err
		}
		return nearcache.Value{Bytes: b, Found: true}, nil
	}
}

func mustGet(t *testing.T, c *nearcache.Cache, l *loader, key string) nearcache.Value {
	t.Helper()
	v, err := c.Get(context.Background(), key, l.get(key))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAHitCostsNoRedisRead(t *testing.T) {
	_, c, rdb, other := setup(t, nearcache.Config{})
	other.Set(context.Background(), prefix+"a", "1", 0)
	l := &loader{rdb: rdb}
	for range 5 {
		if v := mustGet(t, c, l, prefix+"a"); string(v.Bytes) != "1" || !v.Found {
			t.Fatalf("got %+v", v)
		}
	}
	if n := l.calls.Load(); n != 1 {
		t.Fatalf("5 reads made %d Redis reads, want 1", n)
	}
	// A key Redis does not hold is held as missing too.
	for range 3 {
		if v := mustGet(t, c, l, prefix+"none"); v.Found {
			t.Fatalf("got %+v for a missing key", v)
		}
	}
	if n := l.calls.Load(); n != 2 {
		t.Fatalf("3 reads of a missing key made %d Redis reads, want 1", n-1)
	}
	// Keys outside the prefixes are always read from Redis.
	other.Set(context.Background(), "elsewhere", "x", 0)
	mustGet(t, c, l, "elsewhere")
	mustGet(t, c, l, "elsewhere")
	if n := l.calls.Load(); n != 4 {
		t.Fatalf("2 reads of an unheld key made %d Redis reads, want 2", n-2)
	}
}

// Every write another client makes (set, delete, expiry, flush) is seen by
// the very next read, with no pause between the write's reply and the read:
// the read's fence applies the invalidation, whether or not the reader
// goroutine has run yet.
func TestTheNextReadSeesAnotherClientsWrite(t *testing.T) {
	_, c, rdb, other := setup(t, nearcache.Config{})
	ctx := context.Background()
	l := &loader{rdb: rdb}
	key := prefix + "k"
	for i := range 300 {
		want := strconv.Itoa(i)
		if err := other.Set(ctx, key, want, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v := mustGet(t, c, l, key); string(v.Bytes) != want {
			t.Fatalf("write %d: read %q right after another client wrote %q", i, v.Bytes, want)
		}
		mustGet(t, c, l, key) // held now
	}
	if n := l.calls.Load(); n != 300 {
		t.Fatalf("600 reads around 300 writes made %d Redis reads, want 300 (one per write)", n)
	}

	other.Del(ctx, key)
	if v := mustGet(t, c, l, key); v.Found {
		t.Fatalf("read %q after the key was deleted", v.Bytes)
	}
	other.Set(ctx, key, "again", 0)
	mustGet(t, c, l, key)
	// Redis (7.0) pushes a flush's invalidation after the FLUSHALL
	// reply, not before it as for a key's write, so no fence can make
	// the very next read see it; it is applied as soon as it arrives.
	other.FlushAll(ctx)
	testkit.Eventually(t, "a value is still answered from memory after FLUSHALL", func() bool { return !mustGet(t, c, l, key).Found })
	other.Set(ctx, key, "short-lived", 50*time.Millisecond)
	mustGet(t, c, l, key)
	testkit.Eventually(t, "an expired key is still answered from memory", func() bool { return !mustGet(t, c, l, key).Found })
}

// A value read from Redis while another client changed the key is not
// kept: it may be the older value.
func TestAValueReadDuringAWriteIsNotKept(t *testing.T) {
	_, c, rdb, other := setup(t, nearcache.Config{})
	ctx := context.Background()
	key := prefix + "k"
	other.Set(ctx, key, "old", 0)
	l := &loader{rdb: rdb}
	slow := func(ctx context.Context) (nearcache.Value, error) {
		v, err := l.get(key)(ctx)
		// The write lands after Redis answered the read, before the
		// value is kept: whether or not the reader goroutine has applied
		// its invalidation yet, keeping must see it.
		other.Set(ctx, key, "new", 0)
		return v, err
	}
	if v, err := c.Get(ctx, key, slow); err != nil || string(v.Bytes) != "old" {
		t.Fatalf("got %q, %v", v.Bytes, err)
	}
	if v := mustGet(t, c, l, key); string(v.Bytes) != "new" {
		t.Fatalf("read %q after the write: the value read during it was kept", v.Bytes)
	}
}

// Only a write of the key itself keeps its value out: with other keys
// written all the time (every cache fill is a write), a value read
// meanwhile is still kept, and the next read of it costs no Redis read.
func TestAValueReadDuringAnotherKeysWriteIsKept(t *testing.T) {
	_, c, rdb, other := setup(t, nearcache.Config{})
	ctx := context.Background()
	key := prefix + "k"
	other.Set(ctx, key, "v", 0)
	l := &loader{rdb: rdb}
	busy := func(ctx context.Context) (nearcache.Value, error) {
		v, err := l.get(key)(ctx)
		other.Set(ctx, prefix+"another", "x", 0)
		other.Del(ctx, prefix+"yet-another")
		return v, err
	}
	if _, err := c.Get(ctx, key, busy); err != nil {
		t.Fatal(err)
	}
	c.Forget(prefix + "another") // this process's own write of another key, too
	if v := mustGet(t, c, l, key); string(v.Bytes) != "v" {
		t.Fatalf("got %q", v.Bytes)
	}
	if n := l.calls.Load(); n != 1 {
		t.Fatalf("%d Redis reads for two reads of an unchanged key, want 1: writes of other keys kept it out", n)
	}
}

// Forget drops a key at once, for this process's own writes.
func TestForget(t *testing.T) {
	_, c, rdb, _ := setup(t, nearcache.Config{})
	ctx := context.Background()
	key := prefix + "k"
	l := &loader{rdb: rdb}
	rdb.Set(ctx, key, "1", 0)
	mustGet(t, c, l, key)
	c.Forget(key)
	mustGet(t, c, l, key)
	if n := l.calls.Load(); n != 2 {
		t.Fatalf("a read after Forget made %d Redis reads in all, want 2", n)
	}
}

// With readers in flight all the time, no read that starts after a write
// was acknowledged returns an older value, whatever the interleaving, with
// the writes spread over several keys (each read and write picks one), so
// a value kept because its own key was not written is checked too.
func TestNoReadAfterAnAcknowledgedWriteSeesAnOlderValue(t *testing.T) {
	_, c, rdb, other := setup(t, nearcache.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const keys = 3
	key := func(i int64) string { return prefix + "counter" + strconv.FormatInt(i%keys, 10) }
	for i := range int64(keys) {
		other.Set(ctx, key(i), "0", 0)
	}
	var acked [keys]atomic.Int64
	var stale atomic.Int64
	var reads atomic.Int64
	var wg sync.WaitGroup
	for r := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := &loader{rdb: rdb}
			for i := int64(r); ctx.Err() == nil; i++ {
				before := acked[i%keys].Load()
				v, err := c.Get(ctx, key(i), l.get(key(i)))
				if err != nil {
					continue
				}
				reads.Add(1)
				if n, _ := strconv.ParseInt(string(v.Bytes), 10, 64); n < before {
					stale.Add(1)
				}
			}
		}()
	}
	for i := int64(1); i <= 500; i++ {
		if err := other.Set(ctx, key(i), strconv.FormatInt(i, 10), 0).Err(); err != nil {
			t.Fatal(err)
		}
		acked[i%keys].Store(i)
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // let hits pile up between some writes
		}
	}
	cancel()
	wg.Wait()
	if n := stale.Load(); n > 0 {
		t.Fatalf("%d of %d reads returned a value older than a write acknowledged before they began", n, reads.Load())
	}
	t.Logf("%d reads around 500 writes, none stale", reads.Load())
}

// A Redis that stops answering (paused: connections open, nothing read)
// stops memory from answering within Liveness; a restarted one (no data,
// new connections) never sees values held before it.
func TestMemoryStandsAsideWhenRedisDoesNotAnswer(t *testing.T) {
	srv, c, rdb, other := setup(t, nearcache.Config{Heartbeat: 20 * time.Millisecond, Liveness: 100 * time.Millisecond})
	ctx := context.Background()
	key := prefix + "k"
	l := &loader{rdb: rdb}
	other.Set(ctx, key, "1", 0)
	mustGet(t, c, l, key)

	srv.Pause()
	time.Sleep(150 * time.Millisecond)
	var calls atomic.Int64
	probe := func(context.Context) (nearcache.Value, error) {
		calls.Add(1)
		return nearcache.Value{}, errors.New("redis paused")
	}
	if _, err := c.Get(ctx, key, probe); err == nil || calls.Load() != 1 {
		t.Fatalf("with Redis paused past Liveness, memory answered (calls %d, err %v)", calls.Load(), err)
	}
	srv.Resume()
	testkit.Eventually(t, "memory did not answer again after Redis resumed", func() bool {
		before := l.calls.Load()
		mustGet(t, c, l, key)
		mustGet(t, c, l, key)
		return l.calls.Load()-before == 1 // live again: the second read a hit
	})

	srv.Restart() // same port, no data
	testkit.Eventually(t, "the value held before the restart was still answered", func() bool {
		v, err := c.Get(ctx, key, l.get(key))
		return err == nil && !v.Found
	})
}

func TestManyAnswersHeldKeysAndLoadsTheRestOnce(t *testing.T) {
	_, c, rdb, other := setup(t, nearcache.Config{})
	ctx := context.Background()
	other.Set(ctx, prefix+"a", "A", 0)
	other.Set(ctx, prefix+"b", "B", 0)
	var loads [][]string
	load := func(ctx context.Context, keys []string) ([]nearcache.Value, error) {
		loads = append(loads, keys)
		vals, err := rdb.MGet(ctx, keys...).Result()
		out := make([]nearcache.Value, len(vals))
		for i, v := range vals {
			if s, ok := v.(string); ok {
				out[i] = nearcache.Value{Bytes: []byte(s), Found: true}
			}
		}
		return out, err
	}
	keys := []string{prefix + "a", prefix + "b", prefix + "c"}
	for range 3 {
		got, err := c.Many(ctx, keys, load)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[0].Bytes) != "A" || string(got[1].Bytes) != "B" || got[2].Found {
			t.Fatalf("got %+v", got)
		}
	}
	other.Set(ctx, prefix+"b", "B2", 0)
	got, _ := c.Many(ctx, keys, load)
	if string(got[1].Bytes) != "B2" {
		t.Fatalf("read %q after b was written", got[1].Bytes)
	}
	if len(loads) != 2 || len(loads[1]) != 1 || loads[1][0] != prefix+"b" {
		t.Fatalf("loads %v, want all three keys once, then b alone", loads)
	}
}

func TestOpenSaysWhatCannotBeHeld(t *testing.T) {
	mr := miniredis.RunT(t)
	embedded := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer embedded.Close()
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": mr.Addr()}})
	defer ring.Close()
	sentinel := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{mr.Addr()}})
	defer sentinel.Close()
	for name, rdb := range map[string]redis.UniversalClient{"miniredis": embedded, "ring": ring, "sentinel": sentinel} {
		if _, err := nearcache.Open(context.Background(), rdb, nearcache.Config{Prefixes: []string{prefix}}); !errors.Is(err, nearcache.ErrUnsupported) {
			t.Errorf("%s: Open error %v, want ErrUnsupported", name, err)
		}
	}
	// A nil cache holds nothing and reads Redis every time.
	var c *nearcache.Cache
	calls := 0
	for range 2 {
		c.Get(context.Background(), prefix+"a", func(context.Context) (nearcache.Value, error) { calls++; return nearcache.Value{}, nil })
	}
	if calls != 2 {
		t.Fatalf("a nil cache made %d loads for 2 reads", calls)
	}
}

// A Redis that needs a password: the tracking connection authenticates in
// its HELLO, as the client does, and a wrong password is Open's error.
func TestTrackingAuthenticatesLikeTheClient(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.ConfigSet(ctx, "requirepass", "s3cret").Err(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: "s3cret"})
	defer rdb.Close()
	c, err := nearcache.Open(ctx, rdb, nearcache.Config{Prefixes: []string{prefix}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := &loader{rdb: rdb}
	rdb.Set(ctx, prefix+"k", "1", 0)
	mustGet(t, c, l, prefix+"k")
	rdb.Set(ctx, prefix+"k", "2", 0)
	if v := mustGet(t, c, l, prefix+"k"); string(v.Bytes) != "2" {
		t.Fatalf("read %q after the write", v.Bytes)
	}

	wrong := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: "nope"})
	defer wrong.Close()
	if _, err := nearcache.Open(ctx, wrong, nearcache.Config{Prefixes: []string{prefix}}); !errors.Is(err, nearcache.ErrUnsupported) {
		t.Fatalf("Open with a wrong password: %v, want ErrUnsupported", err)
	}
}
