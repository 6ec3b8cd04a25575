package cache

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	breakerState prometheus.Gauge
	staleServed  prometheus.Counter
	locks        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		breakerState: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bff_cache_redis_breaker_state",
			Help: "State of the Redis circuit breaker: 0 closed (Redis used), 1 probing, 2 open (Redis skipped).",
		}),
		staleServed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bff_cache_stale_served_total",
			Help: "Reads answered from a stale cached user because upstream was unavailable.",
		}),
		locks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_cache_user_lock_total",
			Help: "User write lock requests by outcome: acquired, timeout (another writer held it), redis_unavailable (written without the lock).",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.breakerState, m.staleServed, m.locks)
	}
	return m
}
