package cache

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	staleServed prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		staleServed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bff_cache_stale_served_total",
			Help: "Reads answered from a stale cached user because upstream was unavailable.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.staleServed)
	}
	return m
}
