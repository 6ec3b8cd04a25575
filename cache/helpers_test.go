package cache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/internal/redistest"
	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/redisconn"
)

// sampleUser is a user with every kind of field the cache must carry:
// nested metadata maps, identities with profile data, timestamps.
func sampleUser(id string) *profiling.User {
	created := time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)
	return &profiling.User{
		ID:            id,
		Email:         "ada@example.com",
		EmailVerified: true,
		Name:          "Ada Lovelace",
		Nickname:      "ada",
		Picture:       "https://example.com/ada.png",
		GivenName:     "Ada",
		CreatedAt:     created,
		UpdatedAt:     created.Add(time.Hour),
		LastLogin:     created.Add(2 * time.Hour),
		LoginsCount:   3,
		Identities: []profiling.Identity{{
			Connection: "google-oauth2", Provider: "google-oauth2", UserID: "1234", IsSocial: true,
			ProfileData: map[string]any{"family_name": "Lovelace", "locale": "en"},
		}},
		UserMetadata: map[string]any{"company": "Analytical Engines", "prefs": map[string]any{"theme": "dark"}},
		AppMetadata:  map[string]any{"roles": []any{"reader"}, "enrichment": map[string]any{"title": "Countess"}},
	}
}

// logBuffer collects what the cache logs, so tests can assert that an
// absorbed failure was at least reported.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// env is one test's real redis-server, a client built by cache.Connect,
// and the logs of the caches it makes.
type env struct {
	redis *redistest.Server
	rdb   redis.UniversalClient
	logs  *logBuffer
	// redisTimeout is the guard timeout newCache uses (0: the default).
	redisTimeout time.Duration
}

// slowMachineTimeout replaces the production Redis timeouts in tests that
// count upstream calls: on a loaded machine a Redis reply can take longer
// than 250ms, which the cache rightly treats as a miss, and the count would
// then measure the machine instead of the cache.
const slowMachineTimeout = 10 * time.Second

// newEnv gives a Redis with timeouts no loaded machine reaches, for tests
// of what the cache does when Redis works.
func newEnv(t testing.TB) *env {
	t.Helper()
	srv := redistest.Start(t)
	d := slowMachineTimeout.String()
	rdb := connectEnv(t, srv.URL()+"?dial_timeout="+d+"&read_timeout="+d+"&write_timeout="+d+"&pool_timeout="+d)
	return &env{redis: srv, rdb: rdb, logs: &logBuffer{}, redisTimeout: slowMachineTimeout}
}

// newProductionEnv gives a Redis reached with Connect's production defaults
// and the guard's default timeout, for tests of a slow Redis (where the
// short timeouts are what is under test) and for benchmarks.
func newProductionEnv(t testing.TB) *env {
	t.Helper()
	srv := redistest.Start(t)
	return &env{redis: srv, rdb: connectEnv(t, srv.URL()), logs: &logBuffer{}}
}

func connectEnv(t testing.TB, url string) redis.UniversalClient {
	t.Helper()
	rdb, closeRDB, err := redisconn.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("Connect(%s): %v", url, err)
	}
	t.Cleanup(func() { closeRDB() })
	return rdb
}

// newCache returns a cache of next on the env's Redis, with a guard of its
// own (as each service instance has) whose gauge goes to cfg.Metrics.
func (e *env) newCache(next profiling.UserStore, cfg cache.Config) *cache.Cache {
	if cfg.Logger == nil {
		cfg.Logger = e.logs.logger()
	}
	guard := redisconn.NewGuard(e.rdb, redisconn.GuardConfig{Timeout: e.redisTimeout, Logger: cfg.Logger, Metrics: cfg.Metrics})
	return cache.New(e.rdb, guard, next, cfg)
}

// cached returns the raw entry Redis holds under key, or "" if none.
func (e *env) cached(t testing.TB, key string) string {
	t.Helper()
	v, err := e.rdb.Get(context.Background(), key).Result()
	if err == redis.Nil {
		return ""
	}
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	return v
}

// mustUser reads id through c and fails the test on error.
func mustUser(t testing.TB, c *cache.Cache, id string) *profiling.User {
	t.Helper()
	u, _, err := c.User(context.Background(), id, profiling.Read{})
	if err != nil {
		t.Fatalf("User(%q): %v", id, err)
	}
	return u
}

// sameJSON compares users by their JSON form, which is what the cache keeps.
func sameJSON(t testing.TB, got, want *profiling.User) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Fatalf("user differs:\n got %s\nwant %s", g, w)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
