package main

import (
	"strings"
	"testing"
	"time"
)

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
