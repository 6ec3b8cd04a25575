package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/progressive-profiling/bff/auth0store"
)

// readiness is what /readyz answers: whether this instance can serve, not
// whether every dependency is healthy. A Redis outage is served around (the
// cache answers from Auth0), so failing readiness for it would pull every
// instance out of the load balancer at once; it is reported as degraded
// with a 200. 503 means this instance cannot serve: it is shutting down, or
// the Management API has never given it a token (the tenant was
// unreachable at start-up and still is).
type readiness struct {
	redis func(context.Context) error
	// auth0 fetches a Management API token (auth0store.CheckCredentials).
	auth0 func(context.Context) error
	// keys reports whether the token verifier holds the tenant's signing
	// keys (auth.Verifier.KeysErr).
	keys func(context.Context) error
	log  *slog.Logger

	shuttingDown atomic.Bool

	mu          sync.Mutex // guards the fields below
	auth0OK     bool       // a Management API token was obtained once
	auth0Tried  time.Time  // the last check, so probes cannot hammer the tenant
	auth0Reason string
}

// auth0Recheck is the least time between two token fetches made for
// readiness while the tenant has never answered.
const auth0Recheck = 2 * time.Second

// readyDegradedMetric is 1 while the instance serves degraded (Redis or
// the signing keys unavailable), 0 otherwise.
const readyDegradedMetric = "bff_ready_degraded"

// checkAuth0AtStartup fetches a Management API token once. A refusal of
// the client credentials is a configuration mistake and stops start-up,
// naming the variables to check; an unreachable tenant is logged, reflected
// in readiness, and retried (by readiness and by every request). A missing
// JWKS is logged the same way.
func (r *readiness) checkAuth0AtStartup(ctx context.Context) error {
	err := r.auth0(ctx)
	if errors.Is(err, auth0store.ErrCredentialsRefused) {
		return fmt.Errorf("auth0: %w; check AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and AUTH0_DOMAIN, "+
			"and that the application is authorised for the tenant's Management API (read:users update:users)", err)
	}
	r.mu.Lock()
	r.auth0OK, r.auth0Tried = err == nil, time.Now()
	r.mu.Unlock()
	if err != nil {
		r.log.Warn("auth0: no Management API token at start-up; not ready until the tenant answers, requests keep trying", "error", err)
	}
	if err := r.keys(ctx); err != nil {
		r.log.Warn("auth0: no token signing keys (JWKS) at start-up; every token is refused until they arrive (the first token asks for them again)", "error", err)
	}
	return nil
}

// shutDown makes readiness fail from now on.
func (r *readiness) shutDown() { r.shuttingDown.Store(true) }

// status is the /readyz answer.
func (r *readiness) status(ctx context.Context) (int, map[string]string) {
	if r.shuttingDown.Load() {
		return http.StatusServiceUnavailable, map[string]string{"status": "shutting_down"}
	}
	if !r.auth0Reached(ctx) {
		return http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "auth0": "unreachable"}
	}
	body := map[string]string{"status": "ready"}
	if err := r.redis(ctx); err != nil {
		body["status"], body["redis"] = "degraded", "unavailable"
	}
	if err := r.keys(ctx); err != nil {
		body["status"], body["signing_keys"] = "degraded", "unavailable"
	}
	return http.StatusOK, body
}

// auth0Reached reports whether a Management API token was ever obtained,
// trying again (at most every auth0Recheck) while it was not.
func (r *readiness) auth0Reached(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.auth0OK || time.Since(r.auth0Tried) < auth0Recheck {
		return r.auth0OK
	}
	r.auth0Tried = time.Now()
	err := r.auth0(ctx)
	r.auth0OK = err == nil
	if err != nil && err.Error() != r.auth0Reason {
		r.log.Warn("not ready: no Management API token yet", "error", err)
	}
	if err != nil {
		r.auth0Reason = err.Error()
	} else {
		r.log.Info("auth0: Management API token obtained; ready")
	}
	return r.auth0OK
}

// degradedGauge is bff_ready_degraded, computed at each scrape as /readyz
// would answer.
func (r *readiness) degradedGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: readyDegradedMetric,
		Help: "1 while this instance serves degraded (Redis or the token signing keys unavailable; /readyz still 200), 0 otherwise.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, body := r.status(ctx); body["status"] == "degraded" {
			return 1
		}
		return 0
	})
}
