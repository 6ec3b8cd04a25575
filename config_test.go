package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDevModeDefaults(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.DevMode || c.Port != "8080" || c.Audience != auth0emu.DefaultAudience || c.ClientID != auth0emu.DefaultClientID ||
		c.ClientSecret != auth0emu.DefaultClientSecret || c.DevAuth0Addr != auth0emu.DefaultAddr || !c.Playground || !c.Introspection {
		t.Fatalf("dev defaults = %+v", c)
	}
}

func TestConfigProductionNeedsCredentialsAndTurnsDevToolsOff(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{
		"AUTH0_DOMAIN": "tenant.eu.auth0.com", "AUTH0_AUDIENCE": "https://api", "AUTH0_CLIENT_ID": "id", "AUTH0_CLIENT_SECRET": "s",
		"REDIS_URL": "redis://redis:6379",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DevMode || c.Playground || c.Introspection || len(c.CORSOrigins) != 0 {
		t.Fatalf("production must not default to dev tools or open CORS: %+v", c)
	}

	_, err = loadConfig(envOf(map[string]string{"AUTH0_DOMAIN": "tenant.eu.auth0.com"}))
	for _, name := range []string{"AUTH0_AUDIENCE", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "REDIS_URL"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("missing %s not reported: %v", name, err)
		}
	}
}

func TestConfigReportsEveryBadValueByName(t *testing.T) {
	_, err := loadConfig(envOf(map[string]string{
		"PORT":                 "http",
		"PLAYGROUND":           "sometimes",
		"LOG_LEVEL":            "loud",
		"CORS_ALLOWED_ORIGINS": "https://app.example.com, not an origin",
		"AUTH0_DOMAIN":         "http://tenant.example.com",
		"AUTH0_AUDIENCE":       "a", "AUTH0_CLIENT_ID": "b", "AUTH0_CLIENT_SECRET": "c",
		"AUTH0_ISSUER":   "https://login.example.com",
		"BIND_ADDR":      "0.0.0.0:8080",
		"SHUTDOWN_DELAY": "soon",
		"REDIS_EMBEDDED": "perhaps",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, name := range []string{"PORT", "PLAYGROUND", "LOG_LEVEL", "CORS_ALLOWED_ORIGINS", "AUTH0_DOMAIN",
		"AUTH0_ISSUER", "BIND_ADDR", "SHUTDOWN_DELAY", "REDIS_EMBEDDED"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

func TestCacheSettingsFromTheEnvironment(t *testing.T) {
	env := map[string]string{
		"CACHE_TTL":           "90s",
		"CACHE_STALE_MAX":     "0",
		"CACHE_NEGATIVE_TTL":  "5s",
		"CACHE_UPSTREAM_WAIT": "750ms",
	}
	c, err := cacheConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.TTL != 90*time.Second || c.MaxStale >= 0 || c.NegativeTTL != 5*time.Second || c.UpstreamWait != 750*time.Millisecond {
		t.Fatalf("cacheConfig = %+v", c)
	}
	if c, err := cacheConfig(func(string) string { return "" }); err != nil || c.TTL != 0 || c.MaxStale != 0 {
		t.Fatalf("unset variables must keep the cache's defaults (zero values): %+v, %v", c, err)
	}

	bad := map[string]string{
		"CACHE_TTL":           "0",
		"CACHE_STALE_MAX":     "soon",
		"CACHE_NEGATIVE_TTL":  "-1s",
		"CACHE_UPSTREAM_WAIT": "10us",
	}
	_, err = cacheConfig(func(k string) string { return bad[k] })
	for name := range bad {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s=%q not named in the error: %v", name, bad[name], err)
		}
	}
}

// production is a complete production environment plus overrides.
func production(overrides map[string]string) func(string) string {
	env := map[string]string{
		"AUTH0_DOMAIN": "tenant.eu.auth0.com", "AUTH0_AUDIENCE": "https://api", "AUTH0_CLIENT_ID": "id",
		"AUTH0_CLIENT_SECRET": "do-not-print-me", "REDIS_URL": "redis://redis:6379",
	}
	for k, v := range overrides {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return envOf(env)
}

// Without REDIS_URL each production instance would silently run its own
// in-process Redis: no shared cache, no cross-instance write lock. That
// takes an explicit REDIS_EMBEDDED=true.
func TestConfigProductionRequiresRedisOrAnExplicitEmbeddedOne(t *testing.T) {
	_, err := loadConfig(production(map[string]string{"REDIS_URL": "", "AUTH0_AUDIENCE": ""}))
	if err == nil || !strings.Contains(err.Error(), "REDIS_URL is required") || !strings.Contains(err.Error(), "REDIS_EMBEDDED=true") {
		t.Fatalf("production without REDIS_URL: %v", err)
	}
	if !strings.Contains(err.Error(), "AUTH0_AUDIENCE") {
		t.Errorf("REDIS_URL not reported with the other problems: %v", err)
	}
	if strings.Contains(err.Error(), "do-not-print-me") {
		t.Errorf("the client secret is in the error: %v", err)
	}

	c, err := loadConfig(production(map[string]string{"REDIS_URL": "", "REDIS_EMBEDDED": "true"}))
	if err != nil || !c.EmbeddedRedis {
		t.Fatalf("REDIS_EMBEDDED=true: %+v, %v", c, err)
	}
	c, err = loadConfig(production(nil))
	if err != nil || c.EmbeddedRedis {
		t.Fatalf("REDIS_URL set: embedded %v, %v", c.EmbeddedRedis, err)
	}
	if _, err := loadConfig(production(map[string]string{"REDIS_EMBEDDED": "true"})); err == nil || !strings.Contains(err.Error(), "REDIS_EMBEDDED") {
		t.Errorf("REDIS_EMBEDDED=true with REDIS_URL: %v", err)
	}
	if c, err := loadConfig(envOf(nil)); err != nil || !c.EmbeddedRedis {
		t.Errorf("dev mode keeps its embedded Redis: %+v, %v", c, err)
	}
}

// Dev mode hands out tokens for every seeded user (/dev/tokens, the
// playground): loopback unless told otherwise. Production listens on every
// interface unless told otherwise.
func TestConfigBindAddress(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(string) string
		want string
	}{
		{"dev default", envOf(nil), "127.0.0.1"},
		{"production default", production(nil), ""},
		{"dev, told", envOf(map[string]string{"BIND_ADDR": "0.0.0.0"}), "0.0.0.0"},
		{"production, told", production(map[string]string{"BIND_ADDR": "10.0.0.7"}), "10.0.0.7"},
		{"IPv6 in brackets", production(map[string]string{"BIND_ADDR": "[::1]"}), "::1"},
	} {
		c, err := loadConfig(tc.env)
		if err != nil || c.BindAddr != tc.want {
			t.Errorf("%s: BindAddr %q, %v; want %q", tc.name, c.BindAddr, err, tc.want)
		}
	}
	for _, bad := range []string{"0.0.0.0:8080", "example.com", "300.1.1.1"} {
		if _, err := loadConfig(envOf(map[string]string{"BIND_ADDR": bad})); err == nil || !strings.Contains(err.Error(), "BIND_ADDR") {
			t.Errorf("BIND_ADDR=%q: %v", bad, err)
		}
	}
}

// AUTH0_ISSUER is the iss of user tokens, which a custom domain changes
// while the Management API stays on AUTH0_DOMAIN.
func TestConfigIssuer(t *testing.T) {
	for _, tc := range []struct {
		env  func(string) string
		want string
	}{
		{production(nil), "https://tenant.eu.auth0.com/"},
		{production(map[string]string{"AUTH0_DOMAIN": "http://127.0.0.1:8081"}), "http://127.0.0.1:8081/"},
		{production(map[string]string{"AUTH0_ISSUER": "https://login.example.com/"}), "https://login.example.com/"},
		{production(map[string]string{"AUTH0_ISSUER": "http://localhost:8081/"}), "http://localhost:8081/"},
	} {
		c, err := loadConfig(tc.env)
		if err != nil || c.Issuer != tc.want || c.Auth0Domain == "" {
			t.Errorf("issuer %q, %v; want %q", c.Issuer, err, tc.want)
		}
	}
	for _, bad := range []string{
		"https://login.example.com",       // Auth0's iss ends in /
		"http://login.example.com/",       // plain http off loopback
		"login.example.com/",              // not a URL
		"https://login.example.com/path/", // Auth0's issuer has no path
		"ftp://login.example.com/",
	} {
		_, err := loadConfig(production(map[string]string{"AUTH0_ISSUER": bad}))
		if err == nil || !strings.Contains(err.Error(), "AUTH0_ISSUER") {
			t.Errorf("AUTH0_ISSUER=%q: %v", bad, err)
		}
	}
	if _, err := loadConfig(envOf(map[string]string{"AUTH0_ISSUER": "https://login.example.com/"})); err == nil || !strings.Contains(err.Error(), "AUTH0_ISSUER") {
		t.Errorf("AUTH0_ISSUER in dev mode silently ignored: %v", err)
	}
}

// Readiness fails SHUTDOWN_DELAY before the server stops taking
// connections; dev mode has no load balancer to wait for.
func TestConfigShutdownDelay(t *testing.T) {
	for _, tc := range []struct {
		env  func(string) string
		want time.Duration
	}{
		{production(nil), 5 * time.Second},
		{envOf(nil), 0},
		{production(map[string]string{"SHUTDOWN_DELAY": "0"}), 0},
		{production(map[string]string{"SHUTDOWN_DELAY": "12s"}), 12 * time.Second},
	} {
		if c, err := loadConfig(tc.env); err != nil || c.ShutdownDelay != tc.want {
			t.Errorf("ShutdownDelay %s, %v; want %s", c.ShutdownDelay, err, tc.want)
		}
	}
	for _, bad := range []string{"-1s", "5", "2h"} {
		if _, err := loadConfig(production(map[string]string{"SHUTDOWN_DELAY": bad})); err == nil || !strings.Contains(err.Error(), "SHUTDOWN_DELAY") {
			t.Errorf("SHUTDOWN_DELAY=%q: %v", bad, err)
		}
	}
}

// The write lock must outlive the write it guards; a configuration that
// lets the read under it plus the PATCH outlast it is refused at load.
func TestConfigTimeoutBudget(t *testing.T) {
	if _, err := loadConfig(production(map[string]string{"CACHE_UPSTREAM_WAIT": "9s"})); err != nil {
		t.Fatalf("9s + 5s under the 15s lock: %v", err)
	}
	_, err := loadConfig(production(map[string]string{"CACHE_UPSTREAM_WAIT": "10s"}))
	if err == nil || !strings.Contains(err.Error(), "CACHE_UPSTREAM_WAIT") || !strings.Contains(err.Error(), "write lock") {
		t.Fatalf("10s + 5s against a 15s lock: %v", err)
	}
}

// Start-up logs the effective configuration, every default resolved, with
// no secret in it.
func TestConfigIsLoggedWithSecretsMasked(t *testing.T) {
	c, err := loadConfig(production(map[string]string{"REDIS_URL": "redis://user:redis-password@redis:6379/0"}))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	slog.New(slog.NewJSONHandler(&out, nil)).Info("configuration", "config", c)
	logged := out.String()
	for _, secret := range []string{"do-not-print-me", "redis-password"} {
		if strings.Contains(logged, secret) {
			t.Errorf("the logged configuration holds a secret: %s", logged)
		}
	}
	for _, want := range []string{`"auth0_client_secret":"(set, masked)"`, `"cache_ttl":600000000000`, `"lock_ttl":15000000000`,
		`"auth0_issuer":"https://tenant.eu.auth0.com/"`, `"redis_url":"redis://user:xxxxx@redis:6379/0"`, `"graphql_max_depth":8`} {
		if !strings.Contains(logged, want) {
			t.Errorf("the logged configuration lacks %s: %s", want, logged)
		}
	}
}
