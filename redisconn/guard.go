package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Defaults for the zero values of GuardConfig.
const (
	DefaultTimeout          = 300 * time.Millisecond
	DefaultBreakerThreshold = 3
	DefaultBreakerCoolDown  = time.Second
)

// GuardConfig tunes a Guard. The zero value of every field selects its
// default.
type GuardConfig struct {
	// Timeout bounds each Redis operation, whatever deadline the caller
	// has, so a slow Redis cannot hold a request for long. Default
	// DefaultTimeout.
	Timeout time.Duration
	// BreakerThreshold is how many consecutive Redis failures open the
	// circuit breaker. Default DefaultBreakerThreshold.
	BreakerThreshold int
	// BreakerCoolDown is how long the open breaker waits between background
	// probes. Default DefaultBreakerCoolDown.
	BreakerCoolDown time.Duration
	// Logger receives the breaker's state changes. Default slog.Default().
	Logger *slog.Logger
	// Metrics receives bff_cache_redis_breaker_state; nil registers nothing.
	Metrics prometheus.Registerer
}

// Breaker states, as the bff_cache_redis_breaker_state gauge shows them.
const (
	breakerClosed   = 0 // Redis is used
	breakerProbing  = 1 // open, one background PING under way (half-open)
	breakerOpen     = 2 // Redis is skipped until a probe succeeds
	breakerStateMax = breakerOpen
)

// ErrBreakerOpen is what an operation the Guard skipped reports.
var ErrBreakerOpen = errors.New("redis skipped: circuit breaker open after consecutive failures")

// Guard runs Redis operations bounded by a timeout and behind a circuit
// breaker, for every user of one Redis (the cache, the write lock): Redis
// is an optimisation, so a dead or blackholed Redis must cost a request a
// mutex, not a timeout. After BreakerThreshold consecutive failures the
// breaker opens; while open, the first call after each cool-down starts one
// background PING, and its success (after the hooks registered with
// BeforeReuse) closes it. Requests never wait for a probe.
//
// Hand-written rather than sony/gobreaker: gobreaker's half-open state lets
// a live request be the probe, which against a blackholed Redis costs that
// request a full Timeout every cool-down; probing with a PING off the
// request path is the behaviour wanted here, and it is a few lines.
type Guard struct {
	rdb     redis.UniversalClient
	timeout time.Duration
	b       *breaker
	hooksMu sync.Mutex
	hooks   []func(context.Context) error
}

// NewGuard returns a Guard for rdb. It panics on a negative duration or
// threshold, a programming error.
func NewGuard(rdb redis.UniversalClient, cfg GuardConfig) *Guard {
	switch {
	case cfg.Timeout < 0:
		panic(fmt.Sprintf("redisconn.NewGuard: negative Timeout %v", cfg.Timeout))
	case cfg.BreakerThreshold < 0:
		panic(fmt.Sprintf("redisconn.NewGuard: negative BreakerThreshold %d", cfg.BreakerThreshold))
	case cfg.BreakerCoolDown < 0:
		panic(fmt.Sprintf("redisconn.NewGuard: negative BreakerCoolDown %v", cfg.BreakerCoolDown))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.BreakerThreshold == 0 {
		cfg.BreakerThreshold = DefaultBreakerThreshold
	}
	if cfg.BreakerCoolDown == 0 {
		cfg.BreakerCoolDown = DefaultBreakerCoolDown
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "bff_cache_redis_breaker_state",
		Help: "State of the Redis circuit breaker: 0 closed (Redis used), 1 probing, 2 open (Redis skipped).",
	})
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(gauge)
	}
	g := &Guard{rdb: rdb, timeout: cfg.Timeout}
	g.b = newBreaker(cfg.BreakerThreshold, cfg.BreakerCoolDown, g.probe, cfg.Logger, gauge)
	return g
}

// Timeout is the bound of each operation.
func (g *Guard) Timeout() time.Duration { return g.timeout }

// Do runs one Redis operation under the breaker and Timeout. It returns
// ErrBreakerOpen without running op while the breaker is open.
func (g *Guard) Do(ctx context.Context, op func(context.Context) error) error {
	if !g.b.allow() {
		return ErrBreakerOpen
	}
	rctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	err := op(rctx)
	g.b.record(err, CallerGone(ctx))
	return err
}

// Usable reports whether Redis may be asked now; while the breaker is open
// it is false (and a due probe starts).
func (g *Guard) Usable() bool { return g.b.allow() }

// BeforeReuse registers a hook the probe runs after Redis answers PING and
// before the breaker closes: e.g. the cache deleting entries it could not
// update while Redis was skipped. A hook's error keeps the breaker open.
func (g *Guard) BeforeReuse(hook func(context.Context) error) {
	g.hooksMu.Lock()
	defer g.hooksMu.Unlock()
	g.hooks = append(g.hooks, hook)
}

func (g *Guard) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	if err := g.rdb.Ping(ctx).Err(); err != nil {
		return err
	}
	g.hooksMu.Lock()
	hooks := append([]func(context.Context) error(nil), g.hooks...)
	g.hooksMu.Unlock()
	for _, h := range hooks {
		if err := h(ctx); err != nil {
			return err
		}
	}
	return nil
}

// CallerGone reports whether the caller's context has ended or its
// deadline has passed. The deadline is checked too because a Redis call
// bounded by that deadline can fail with an i/o timeout a moment before the
// context's own timer marks it done; that failure is the caller's, not
// Redis's.
func CallerGone(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

// breaker is the Guard's state machine: see Guard.
type breaker struct {
	threshold int
	coolDown  time.Duration
	probe     func(context.Context) error
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
		b.log.Warn("redis circuit breaker open; Redis skipped until it answers again",
			"consecutive_failures", b.threshold, "probe_every", b.coolDown.String(), "last_error", err)
	}
}

// runProbe pings Redis once; success closes the breaker, failure restarts
// the cool-down. It recovers a panic (a probe must never take the process
// down) and treats it as a failed probe.
func (b *breaker) runProbe() {
	err := errors.New("redis probe panicked")
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("redis probe panicked", "panic", p)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.probing = false
		if err == nil {
			b.open = false
			b.failures = 0
			b.gauge.Set(breakerClosed)
			b.log.Info("redis answers again; circuit breaker closed")
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
