package redisconn_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/testkit"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/internal/redistest"
	"github.com/progressive-profiling/bff/redisconn"
)

// connect calls cache.Connect and closes the client when the test ends.
func connect(t *testing.T, redisURL string) redis.UniversalClient {
	t.Helper()
	rdb, closeRDB, err := redisconn.Connect(context.Background(), redisURL)
	if err != nil {
		t.Fatalf("Connect(%q): %v", redisURL, err)
	}
	t.Cleanup(func() { closeRDB() })
	return rdb
}

// redisWorks proves rdb reaches a working Redis: a key written through it
// reads back, and (for the tests that check where it landed) stays under
// key. Each caller passes its own key, since some share one Redis.
func redisWorks(t *testing.T, rdb redis.UniversalClient, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// With production timeouts a loaded machine can fail one command, so
	// retry briefly rather than demand the first.
	var err error
	for range 20 {
		if err = rdb.Set(ctx, key, "value", time.Minute).Err(); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
	if got, err := rdb.Get(ctx, key).Result(); err != nil || got != "value" {
		t.Fatalf("GET %s = %q, %v; want the value written", key, got, err)
	}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestConnectEmptyURLServesAnEmbeddedRedis(t *testing.T) {
	t.Parallel()
	rdb, closeRDB, err := redisconn.Connect(context.Background(), "")
	if err != nil {
		t.Fatalf(`Connect(""): %v`, err)
	}
	if _, ok := rdb.(*redis.Client); !ok {
		t.Fatalf(`Connect("") returned %T, want the ordinary *redis.Client`, rdb)
	}
	redisWorks(t, rdb, "auth0|embedded")

	// Entries expire by the wall clock, as in a real Redis; otherwise dev
	// mode would serve the first copy of a user forever.
	ctx := context.Background()
	if err := rdb.Set(ctx, "short-lived", "x", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "an embedded entry to expire", func() bool {
		n, err := rdb.Exists(ctx, "short-lived").Result()
		return err == nil && n == 0
	})

	if err := closeRDB(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("client still works after close")
	}
}

func TestConnectStandaloneURL(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := connect(t, srv.URL())
	redisWorks(t, rdb, "auth0|standalone")

	opt := rdb.(*redis.Client).Options()
	if !opt.ContextTimeoutEnabled || opt.ReadTimeout != 250*time.Millisecond || opt.DialTimeout != 500*time.Millisecond {
		t.Fatalf("options: ContextTimeoutEnabled=%v ReadTimeout=%v DialTimeout=%v; want true, 250ms, 500ms",
			opt.ContextTimeoutEnabled, opt.ReadTimeout, opt.DialTimeout)
	}
	// The URL's own settings win over the defaults.
	tuned := connect(t, srv.URL()+"?read_timeout=2s&pool_size=3").(*redis.Client).Options()
	if tuned.ReadTimeout != 2*time.Second || tuned.PoolSize != 3 || !tuned.ContextTimeoutEnabled {
		t.Fatalf("tuned options: ReadTimeout=%v PoolSize=%d ContextTimeoutEnabled=%v; want 2s, 3, true",
			tuned.ReadTimeout, tuned.PoolSize, tuned.ContextTimeoutEnabled)
	}
}

func TestConnectClusterURLs(t *testing.T) {
	t.Parallel()
	srv := redistest.StartCluster(t)
	for name, url := range map[string]string{
		"one seed":              "redis://" + srv.Addr() + "?cluster=true",
		"seeds, first one down": "redis://" + deadAddr(t) + "?addr=" + srv.Addr(),
	} {
		t.Run(name, func(t *testing.T) {
			rdb := connect(t, url)
			cc, ok := rdb.(*redis.ClusterClient)
			if !ok {
				t.Fatalf("Connect(%q) returned %T, want *redis.ClusterClient", url, rdb)
			}
			if opt := cc.Options(); !opt.ContextTimeoutEnabled || opt.ReadTimeout != 250*time.Millisecond {
				t.Fatalf("cluster options: ContextTimeoutEnabled=%v ReadTimeout=%v", opt.ContextTimeoutEnabled, opt.ReadTimeout)
			}
			redisWorks(t, rdb, "auth0|cluster-"+name)
		})
	}
}

func TestConnectSentinelURL(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "pp-master")
	url := "redis://" + sentinel.Addr() + "/0?master_name=pp-master&addr=" + deadAddr(t)
	rdb := connect(t, url)
	redisWorks(t, rdb, "auth0|sentinel")

	// The entry must be on the master the sentinel named.
	direct := connect(t, master.URL())
	if n, err := direct.Exists(context.Background(), "auth0|sentinel").Result(); err != nil || n != 1 {
		t.Fatalf("entry not on the sentinel's master: EXISTS = %d, %v", n, err)
	}
}

func TestConnectRejectsBadURLsClearly(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-pw"
	cases := []struct {
		url, want string
	}{
		{"http://127.0.0.1:6379", `scheme "http" is not supported`},
		{"127.0.0.1:6379", "not a valid URL"},
		{"redis://:" + secret + "@[::1", "not a valid URL"},
		{"redis://:" + secret + "@127.0.0.1:6379/db", "invalid database number"},
		{"redis://:" + secret + "@127.0.0.1:6379?bogus=1", "unexpected option: bogus"},
		{"redis://127.0.0.1:6379?read_timeout=soon&password=" + secret, "invalid read_timeout"},
		{"redis://127.0.0.1:6379?addr=nohostport", "unable to parse addr"},
		{"redis://127.0.0.1:6379?cluster=yes", "cluster must be true"},
		{"redis://127.0.0.1:26379?master_name=", "master_name is empty"},
		{"redis://:" + secret + "@" + deadAddr(t), "does not answer"},
		{"redis://127.0.0.1:1?master_name=m&password=" + secret, "does not answer"},
	}
	for _, tc := range cases {
		// A bound on how long Connect waits for an unreachable server.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _, err := redisconn.Connect(ctx, tc.url)
		cancel()
		if err == nil {
			t.Errorf("Connect(%q) succeeded, want an error", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Connect(%q) = %q, want it to say %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Connect(%q) error leaks the password: %q", tc.url, err)
		}
	}
}
