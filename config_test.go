package main

import (
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/auth0emu"
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
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DevMode || c.Playground || c.Introspection || len(c.CORSOrigins) != 0 {
		t.Fatalf("production must not default to dev tools or open CORS: %+v", c)
	}

	_, err = loadConfig(envOf(map[string]string{"AUTH0_DOMAIN": "tenant.eu.auth0.com"}))
	for _, name := range []string{"AUTH0_AUDIENCE", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"} {
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
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, name := range []string{"PORT", "PLAYGROUND", "LOG_LEVEL", "CORS_ALLOWED_ORIGINS", "AUTH0_DOMAIN"} {
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
