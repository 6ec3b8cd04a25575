package main

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
)

// Helpers for the reliability tests: several service
// instances over one emulator and one redis-server, and GraphQL calls that
// may run on any goroutine.

// createUsers adds n database users who can log in with the seed password.
func createUsers(t *testing.T, emu *auth0emu.Server, prefix string, n int) (ids, emails []string) {
	t.Helper()
	for i := range n {
		email := fmt.Sprintf("%s%d@example.com", prefix, i)
		doc, err := emu.CreateUser(auth0emu.NewUser{Connection: auth0emu.DatabaseConnection, Email: email, Password: auth0emu.SeedPassword})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, doc["user_id"].(string))
		emails = append(emails, email)
	}
	return ids, emails
}

// postGQL is gql for any goroutine: failures are returned, not fatal.
func postGQL(baseURL, token, query string, vars map[string]any) (*gqlResponse, error) {
	r, isJSON, err := sendGQL(gqlRequest(baseURL, token, query, vars))
	if err == nil && !isJSON {
		err = fmt.Errorf("status %d, body not JSON: %q", r.Status, r.Raw)
	}
	return r, err
}

// timedViewer runs a small viewer query and says how long it took and
// whether it was answered with data and no error.
func timedViewer(baseURL, token string) (time.Duration, *gqlResponse, bool) {
	start := time.Now()
	r, err := postGQL(baseURL, token, `{ viewer { id stage } }`, nil)
	took := time.Since(start)
	ok := err == nil && r.Status == http.StatusOK && len(r.Errors) == 0 && path(r.Data, "viewer", "id") != nil
	return took, r, ok
}

// percentile returns the p-th percentile (0 < p ≤ 100, nearest rank).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
