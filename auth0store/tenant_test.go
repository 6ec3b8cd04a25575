package auth0store

import "testing"

func TestTenantURL(t *testing.T) {
	for in, want := range map[string]string{
		"tenant.eu.auth0.com":          "https://tenant.eu.auth0.com",
		"https://tenant.eu.auth0.com/": "https://tenant.eu.auth0.com",
		"http://127.0.0.1:8081":        "http://127.0.0.1:8081",
		"http://localhost:8081":        "http://localhost:8081",
		"http://[::1]:8081":            "http://[::1]:8081",
	} {
		if got, err := TenantURL(in); err != nil || got != want {
			t.Errorf("TenantURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "http://tenant.example.com", "ftp://x", "https://tenant/path", "https://user@tenant"} {
		if got, err := TenantURL(bad); err == nil {
			t.Errorf("TenantURL(%q) = %q, accepted", bad, got)
		}
	}
}
