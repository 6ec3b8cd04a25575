package auth

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names of the token verification outcomes and the JWKS fetches,
// beside RefusedTokensMetric.
const (
	AcceptedTokensMetric = "bff_auth_tokens_accepted_total"
	JWKSFetchesMetric    = "bff_auth_jwks_fetches_total"
)

// verifierMetrics count what RefusedTokensMetric does not: tokens accepted
// (by a signature check, or from the memo of tokens already verified) and
// every JWKS fetch (the periodic refresh, and refetches for an unknown kid).
type verifierMetrics struct {
	accepted *prometheus.CounterVec
	fetches  *prometheus.CounterVec
}

func newVerifierMetrics(reg prometheus.Registerer) (*verifierMetrics, error) {
	m := &verifierMetrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: AcceptedTokensMetric,
			Help: "Access tokens accepted, by how: signature (verified against the JWKS) or memo (verified earlier by this instance).",
		}, []string{"via"}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: JWKSFetchesMetric,
			Help: "JWKS fetches (periodic refreshes and refetches for an unknown kid), by outcome: ok, error.",
		}, []string{"outcome"}),
	}
	for _, via := range []string{"signature", "memo"} {
		m.accepted.WithLabelValues(via)
	}
	for _, o := range []string{"ok", "error"} {
		m.fetches.WithLabelValues(o)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.accepted, m.fetches} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *verifierMetrics) accept(via string) {
	if m != nil {
		m.accepted.WithLabelValues(via).Inc()
	}
}

// countFetches is the JWKS client's transport: it counts each fetch.
type countFetches struct {
	base    http.RoundTripper
	fetches *prometheus.CounterVec
}

func (c countFetches) RoundTrip(req *http.Request) (*http.Response, error) {
	base := c.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode/100 != 2 {
		c.fetches.WithLabelValues("error").Inc()
	} else {
		c.fetches.WithLabelValues("ok").Inc()
	}
	return resp, err
}
