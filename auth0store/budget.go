package auth0store

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Budget remembers until when the tenant's Management API budget is
// exhausted. Auth0 rate-limits per tenant, so after one 429 no instance
// should call before the reset; a shared Budget (ratelimit.Redis) tells
// every instance, the default (ratelimit.Memo) only this Store.
//
// Until's error is for logs only: a Budget that cannot tell (Redis down)
// returns what it knows locally, and the Store goes by that time.
type Budget interface {
	Until(ctx context.Context) (time.Time, error)
	Exhausted(ctx context.Context, until time.Time) error
}

// ErrRateLimited means the call was not sent: the Management API's rate
// limit is exhausted until a reset Auth0 announced (to this or another
// instance). The Error wraps profiling.ErrUpstreamUnavailable too.
var ErrRateLimited = errors.New("auth0store: the Management API rate limit is exhausted")

const (
	// defaultRateLimitWait is assumed when a 429 names no reset.
	defaultRateLimitWait = time.Second
	// maxRateLimitWait caps an announced reset, so a garbled header cannot
	// stop calls for long.
	maxRateLimitWait = 5 * time.Minute
)

// resetAt reads when a 429's budget comes back: X-RateLimit-Reset (Unix
// seconds), else Retry-After (seconds), else a second from now; within
// maxRateLimitWait.
func resetAt(h http.Header, now time.Time) time.Time {
	until := now.Add(defaultRateLimitWait)
	if s, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil && time.Unix(s, 0).After(now) {
		until = time.Unix(s, 0)
	} else if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		until = now.Add(time.Duration(s) * time.Second)
	}
	if limit := now.Add(maxRateLimitWait); until.After(limit) {
		return limit
	}
	return until
}

// budgetWatch carries the Management API requests (below the SDK's
// retries, so it sees every attempt) and records each 429's reset in the
// Budget. The token endpoint has its own limit and does not go through it.
type budgetWatch struct {
	base  http.RoundTripper
	store *Store
}

func (w *budgetWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	base := w.base
	if base == nil {
		base = http.DefaultTransport
	}
	start := time.Now()
	resp, err := base.RoundTrip(req)
	w.store.metrics.observe(req, resp, time.Since(start))
	switch {
	case err != nil:
		w.store.failures.failed(req.Context(), routeOf(req), 0, "", err)
	case resp.StatusCode >= 400 && resp.StatusCode != http.StatusNotFound:
		// A 404 is a user that does not exist, not a failure.
		w.store.failures.failed(req.Context(), routeOf(req), resp.StatusCode, auth0ErrorCode(resp), nil)
	}
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		// A Budget failure leaves the deadline in its local memo; the
		// caller gets the 429 either way.
		_ = w.store.budget.Exhausted(req.Context(), resetAt(resp.Header, w.store.now()))
	}
	return resp, err
}
