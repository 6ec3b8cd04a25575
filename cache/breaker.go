package cache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Breaker states, as the bff_cache_redis_breaker_state gauge shows them.
const (
	breakerClosed   = 0 // Redis is used
	breakerProbing  = 1 // open, one background PING under way (half-open)
	breakerOpen     = 2 // Redis is skipped until a probe succeeds
	breakerStateMax = breakerOpen
)

// errBreakerOpen is what a skipped Redis operation reports.
var errBreakerOpen = errors.New("cache: redis skipped: circuit breaker open after consecutive failures")

// breaker skips Redis after Threshold consecutive failures, so a dead or
// blackholed Redis costs a request a mutex, not a RedisTimeout. While open,
// the first call after each cool-down starts one background PING; its
// success closes the breaker. Requests never wait for a probe.
//
// Hand-written rather than sony/gobreaker: gobreaker's half-open state lets a
// live request be the probe, which against a blackholed Redis costs that
// request a full RedisTimeout every cool-down; probing with a PING off the
// request path is the behaviour wanted here, and it is a few lines.
type breaker struct {
	threshold int
	coolDown  time.Duration
	probe     func(context.Context) error // a PING bounded by RedisTimeout
	log       *slog.Logger
	gauge     prometheus.Gauge
	now       func() time.Time

	mu       sync.Mutex
	failures int       // consecutive, while closed
	open     bool      // Redis is skipped
	probing  bool      // a probe goroutine is running
	openedAt time.Time // or the last failed probe
}

func newBreaker(threshold int, coolDown time.Duration, probe func(context.Context) error, log *slog.Logger, gauge prometheus.Gauge) *breaker {
	gauge.Set(breakerClosed)
	return &breaker{threshold: threshold, coolDown: coolDown, probe: probe, log: log, gauge: gauge, now: time.Now}
}

// allow reports whether Redis may be asked now. While open it returns false
// and, once per cool-down, starts a background probe.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return true
	}
	if !b.probing && b.now().Sub(b.openedAt) >= b.coolDown {
		b.probing = true
		b.gauge.Set(breakerProbing)
		go b.runProbe()
	}
	return false
}

// record counts the outcome of one Redis operation that allow permitted.
// callerGone is true when the caller's own context ended: that says nothing
// about Redis.
func (b *breaker) record(err error, callerGone bool) {
	if callerGone && err != nil {
		return
	}
	failed := isRedisFault(err)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		return // an operation started before the breaker opened
	}
	if !failed {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.threshold {
		b.open, b.openedAt, b.failures = true, b.now(), 0
		b.gauge.Set(breakerOpen)
		b.log.Warn("cache: redis circuit breaker open; serving from upstream without Redis",
			"consecutive_failures", b.threshold, "probe_every", b.coolDown.String(), "last_error", err)
	}
}

// runProbe pings Redis once; success closes the breaker, failure restarts
// the cool-down. It recovers a panic (a probe must never take the process
// down) and treats it as a failed probe.
func (b *breaker) runProbe() {
	err := errors.New("cache: redis probe panicked")
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("cache: redis probe panicked", "panic", p)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.probing = false
		if err == nil {
			b.open = false
			b.failures = 0
			b.gauge.Set(breakerClosed)
			b.log.Info("cache: redis answers again; circuit breaker closed")
			return
		}
		b.openedAt = b.now()
		b.gauge.Set(breakerOpen)
	}()
	err = b.probe(context.Background())
}

// isRedisFault reports whether err means Redis did not answer (timeout,
// refused or broken connection, exhausted pool), as opposed to an answer:
// redis.Nil and server error replies prove Redis is alive.
func isRedisFault(err error) bool {
	if err == nil {
		return false
	}
	var reply redis.Error
	return !errors.As(err, &reply)
}
