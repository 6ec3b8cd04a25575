package profiling

import (
	"testing"
	"time"
)

func TestIsFreshFor(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		name                      string
		lastLogin, fetched, token string
		want                      bool
	}{
		{"no freshness asked", "2026-01-01T00:00:05Z", "2026-01-01T00:00:06Z", "", true},
		{"copy shows the token's login", "2026-01-01T00:00:10.9Z", "2026-01-01T00:00:10.95Z", "2026-01-01T00:00:10Z", true},
		{"fetched a second after the token", "2026-01-01T00:00:05Z", "2026-01-01T00:00:11Z", "2026-01-01T00:00:10Z", true},
		{"fetched earlier in the token's second, before the login", "2026-01-01T00:00:05Z", "2026-01-01T00:00:10.5Z", "2026-01-01T00:00:10Z", false},
		{"fetched before the token", "2026-01-01T00:00:05Z", "2026-01-01T00:00:08Z", "2026-01-01T00:00:10Z", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var after time.Time
			if c.token != "" {
				after = at(c.token)
			}
			u := &User{LastLogin: at(c.lastLogin)}
			if got := IsFreshFor(u, at(c.fetched), after); got != c.want {
				t.Errorf("IsFreshFor = %v, want %v", got, c.want)
			}
		})
	}
}
