package redisconn

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A probe runs on its own goroutine; a panic there must not take the
// process down, and counts as a failed probe.
func TestBreakerProbePanicIsRecoveredAndKeepsItOpen(t *testing.T) {
	var probes atomic.Int64
	panicking := atomic.Bool{}
	panicking.Store(true)
	b := newBreaker(1, time.Millisecond, func(context.Context) error {
		probes.Add(1)
		if panicking.Load() {
			panic("probe bug")
		}
		return nil
	}, slog.New(slog.DiscardHandler), prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"}))

	b.record(errors.New("dial tcp: connection refused"), false)
	if b.allow() {
		t.Fatal("breaker closed after a failure at threshold 1")
	}
	deadline := time.Now().Add(10 * time.Second)
	for probes.Load() < 3 { // several panicking probes, each recovered
		if time.Now().After(deadline) {
			t.Fatal("probes stopped after a panic")
		}
		if b.allow() {
			t.Fatal("a panicking probe closed the breaker")
		}
		time.Sleep(time.Millisecond)
	}
	panicking.Store(false)
	for !b.allow() {
		if time.Now().After(deadline) {
			t.Fatal("a succeeding probe did not close the breaker")
		}
		time.Sleep(time.Millisecond)
	}
}
