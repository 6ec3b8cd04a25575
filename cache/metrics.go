package cache

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	staleServed  prometheus.Counter
	hits         prometheus.Counter
	misses       prometheus.Counter
	fills        *prometheus.CounterVec
	fillDuration prometheus.Histogram
}

// Fill outcomes, the outcome label of bff_cache_fills_total.
const (
	fillOK       = "ok"        // upstream answered with the user, who is now cached
	fillNotFound = "not_found" // upstream has no such user (remembered for NegativeTTL)
	fillError    = "error"     // upstream unavailable, or an unusable answer
)

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		staleServed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bff_cache_stale_served_total",
			Help: "Reads answered from a stale cached user because upstream was unavailable.",
		}),
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bff_cache_hits_total",
			Help: "Reads answered from a cached copy (Redis, or this instance's own while Redis cannot answer) without asking upstream.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bff_cache_misses_total",
			Help: "Reads that needed upstream: no copy, an expired one, or one older than the token requires. Writes' exclusive reads are not counted.",
		}),
		fills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_cache_fills_total",
			Help: "Upstream reads made to fill the cache (one serves every concurrent miss of a user, and each write's exclusive read is one), by outcome: ok, not_found, error.",
		}, []string{"outcome"}),
		fillDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bff_cache_fill_duration_seconds",
			Help:    "Time of each upstream read that fills the cache, whatever its outcome.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	for _, o := range []string{fillOK, fillNotFound, fillError} {
		m.fills.WithLabelValues(o) // present at 0, so a rate() works from the start
	}
	if reg != nil {
		reg.MustRegister(m.staleServed, m.hits, m.misses, m.fills, m.fillDuration)
	}
	return m
}
