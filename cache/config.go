package cache

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/progressive-profiling/bff/nearcache"
)

// Defaults for the zero values of Config.
const (
	DefaultTTL          = 10 * time.Minute
	DefaultJitter       = 0.1
	DefaultKeyPrefix    = "pp:v3:user:"
	DefaultFillTimeout  = 5 * time.Second
	DefaultMaxStale     = time.Hour
	DefaultNegativeTTL  = 30 * time.Second
	DefaultUpstreamWait = 2 * time.Second
	DefaultLocalCopies  = 10000
)

// Config tunes a Cache. The zero value of every field selects its default.
type Config struct {
	// TTL is how long an entry is fresh: served without asking upstream.
	// Default DefaultTTL.
	TTL time.Duration
	// Jitter is the fraction of TTL randomly taken off each entry's fresh
	// period, in [0, 1). Default DefaultJitter.
	Jitter float64
	// MaxStale is how long past its fresh period an entry is kept to answer
	// readers while upstream is unavailable (flagged as stale). Default
	// DefaultMaxStale; negative never serves stale entries.
	MaxStale time.Duration
	// NegativeTTL is how long a user upstream reported missing is answered
	// as missing without asking again. Default DefaultNegativeTTL; negative
	// does not remember missing users.
	NegativeTTL time.Duration
	// KeyPrefix is prepended to the user id to form the Redis key. Its
	// version part must change whenever the stored JSON shape changes.
	// Default DefaultKeyPrefix.
	KeyPrefix string
	// FillTimeout is the deadline of the upstream read that fills a miss.
	// That read runs detached from the callers waiting for it, so it needs
	// its own bound. Default DefaultFillTimeout.
	FillTimeout time.Duration
	// UpstreamWait is the longest a reader waits for upstream before it is
	// answered from a stale entry or, without one, fails with
	// profiling.ErrUpstreamUnavailable. Default DefaultUpstreamWait.
	UpstreamWait time.Duration
	// LocalCopies is how many users' entries this instance keeps decoded in
	// process memory, to answer while Redis cannot and to answer a Redis hit
	// with a copy instead of a JSON decode (see localCopies). Default
	// DefaultLocalCopies; negative keeps none.
	LocalCopies int
	// Near, when set, answers entry reads from this process's memory while
	// it holds them (see package nearcache): a hit without a Redis round
	// trip. It must hold KeyPrefix. Nil reads Redis every time.
	Near *nearcache.Cache
	// Logger receives Redis failures and undecodable entries, which the
	// cache absorbs instead of failing requests. Default slog.Default().
	Logger *slog.Logger
	// Metrics receives the cache's gauge and counters; nil registers
	// nothing.
	Metrics prometheus.Registerer
}

// WithDefaults returns cfg with every zero field set to its default: the
// configuration a Cache built from cfg runs with.
func (cfg Config) WithDefaults() Config {
	setDuration := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setDuration(&cfg.TTL, DefaultTTL)
	setDuration(&cfg.MaxStale, DefaultMaxStale)
	setDuration(&cfg.NegativeTTL, DefaultNegativeTTL)
	setDuration(&cfg.FillTimeout, DefaultFillTimeout)
	setDuration(&cfg.UpstreamWait, DefaultUpstreamWait)
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.LocalCopies == 0 {
		cfg.LocalCopies = DefaultLocalCopies
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

func (cfg Config) validate() error {
	switch {
	case cfg.TTL < time.Millisecond:
		// Redis expiries have millisecond resolution.
		return fmt.Errorf("Config.TTL must be at least 1ms, got %v", cfg.TTL)
	case cfg.Jitter < 0 || cfg.Jitter >= 1:
		return fmt.Errorf("Config.Jitter must be in [0, 1), got %v", cfg.Jitter)
	case cfg.FillTimeout < 0:
		return fmt.Errorf("Config.FillTimeout must not be negative, got %v", cfg.FillTimeout)
	case cfg.UpstreamWait < 0:
		return fmt.Errorf("Config.UpstreamWait must not be negative, got %v", cfg.UpstreamWait)
	}
	return nil
}
