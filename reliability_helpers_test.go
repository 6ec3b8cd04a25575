package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := &gqlResponse{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	var decoded struct {
		Data       map[string]any  `json:"data"`
		Errors     json.RawMessage `json:"errors"`
		Extensions map[string]any  `json:"extensions"`
	}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		return nil, fmt.Errorf("status %d, body not JSON: %q", resp.StatusCode, raw)
	}
	out.Data, out.Extensions = decoded.Data, decoded.Extensions
	if len(decoded.Errors) > 0 {
		_ = json.Unmarshal(decoded.Errors, &out.Errors)
	}
	return out, nil
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
