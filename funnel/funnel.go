// Package funnel is profiling.Funnel on Prometheus: how many fields were
// asked, answered, skipped, dismissed and re-confirmed, by field and stage
// (never by user, so the series stay bounded by the rules file), and the
// distribution of users' completion after each write.
package funnel

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/progressive-profiling/bff/profiling"
)

// Metrics counts the funnel's events.
type Metrics struct {
	asked, answered, reconfirmed, skipped, dismissed *prometheus.CounterVec
	completion                                       prometheus.Histogram
}

var _ profiling.Funnel = (*Metrics)(nil)

// New registers the funnel's metrics with reg (nil registers nothing).
func New(reg prometheus.Registerer) *Metrics {
	vec := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bff_profiling_fields_" + name + "_total", Help: help}, []string{"field", "stage"})
	}
	m := &Metrics{
		asked:       vec("asked", "Fields shown to users in a prompt (mutation promptShown), by field and the stage that asks it."),
		answered:    vec("answered", "Answers recorded, by field and the stage that asked it."),
		reconfirmed: vec("reconfirmed", "Answers due for re-confirmation or a new consent version, confirmed or changed."),
		skipped:     vec("skipped", `"Not now" recorded, by field and stage.`),
		dismissed:   vec("dismissed", `"Never ask" recorded, by field and stage.`),
		completion: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bff_profiling_completion",
			Help:    "Users' profile completion (known fields / catalogue size) after each write.",
			Buckets: []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.asked, m.answered, m.reconfirmed, m.skipped, m.dismissed, m.completion)
	}
	return m
}

func (m *Metrics) Asked(field, stage string)       { m.asked.WithLabelValues(field, stage).Inc() }
func (m *Metrics) Answered(field, stage string)    { m.answered.WithLabelValues(field, stage).Inc() }
func (m *Metrics) Reconfirmed(field, stage string) { m.reconfirmed.WithLabelValues(field, stage).Inc() }
func (m *Metrics) Skipped(field, stage string)     { m.skipped.WithLabelValues(field, stage).Inc() }
func (m *Metrics) Dismissed(field, stage string)   { m.dismissed.WithLabelValues(field, stage).Inc() }
func (m *Metrics) Completion(share float64)        { m.completion.Observe(share) }
