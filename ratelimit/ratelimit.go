// Package ratelimit remembers until when an upstream's rate-limit budget is
// exhausted, so that no caller asks it again before then: Memo within one
// process, Redis across every instance of the service.
//
// Auth0 limits the Management API per tenant, not per client: once one
// instance gets a 429, every instance is out of budget until the reset it
// announced, and calling anyway only prolongs the outage. Both types
// satisfy auth0store.Budget.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Memo is an in-process deadline; the zero value is ready to use and holds
// none. It is safe for concurrent use.
type Memo struct {
	mu    sync.Mutex
	until time.Time
}

// Until returns the latest deadline recorded (zero when none).
func (m *Memo) Until(context.Context) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.until, nil
}

// Exhausted records until unless a later deadline is already held.
func (m *Memo) Exhausted(_ context.Context, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if until.After(m.until) {
		m.until = until
	}
	return nil
}

// DefaultKey is the Redis key Redis uses unless told otherwise.
const DefaultKey = "pp:auth0:ratelimited_until"

// RedisOptions configures a Redis budget. Zero values take the defaults.
type RedisOptions struct {
	// Key holds the deadline in Unix milliseconds, expiring at it.
	// Default DefaultKey.
	Key string
	// Refresh is the least time between two reads of the key while no
	// deadline is known locally. Default 100ms: another instance's 429 is
	// seen within that (costing at most the calls this instance makes in
	// 100 ms, each itself answered 429 and recorded), and neither a busy
	// instance nor a slow Redis pays a round trip per call.
	Refresh time.Duration
	// Timeout bounds each Redis command. Default 50ms: an answer slower
	// than that is treated as no answer.
	Timeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Redis shares the deadline through one Redis key, with a Memo in front: a
// deadline known locally is answered without a round trip, and while none
// is known the key is read at most once per Refresh (by one caller; the
// others take the memo). A Redis failure never fails a call: the memo
// answers, and the error is returned beside it for logging.
type Redis struct {
	rdb  redis.UniversalClient
	opts RedisOptions
	memo Memo

	mu        sync.Mutex
	checkedAt time.Time // last read of the key; guarded by mu
	checking  bool      // a read is under way; guarded by mu
}

// NewRedis returns a Redis budget on rdb.
func NewRedis(rdb redis.UniversalClient, opts RedisOptions) *Redis {
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 100 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 50 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Redis{rdb: rdb, opts: opts}
}

// raise sets the key to ARGV[1] (Unix ms) expiring in ARGV[2] ms, unless it
// already holds a later deadline: two instances limited at once keep the
// later reset, whichever writes last.
var raise = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]))
if cur and cur >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// Until returns the deadline: the memo's when it is still ahead, otherwise
// the key's (read at most once per Refresh).
func (r *Redis) Until(ctx context.Context) (time.Time, error) {
	local, _ := r.memo.Until(ctx)
	now := r.opts.Now()
	if local.After(now) {
		return local, nil
	}
	r.mu.Lock()
	if r.checking || now.Sub(r.checkedAt) < r.opts.Refresh {
		r.mu.Unlock()
		return local, nil
	}
	r.checking = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.checking, r.checkedAt = false, r.opts.Now()
		r.mu.Unlock()
	}()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.Timeout)
	defer cancel()
	ms, err := r.rdb.Get(ctx, r.opts.Key).Int64()
	switch {
	case errors.Is(err, redis.Nil):
		return local, nil
	case err != nil:
		return local, fmt.Errorf("ratelimit: reading %s from Redis: %w", r.opts.Key, err)
	}
	shared := time.UnixMilli(ms)
	_ = r.memo.Exhausted(ctx, shared)
	if shared.After(local) {
		return shared, nil
	}
	return local, nil
}

// Exhausted records until in the memo at once and in Redis unless the key
// holds a later deadline. A Redis failure is returned; the memo still
// holds the deadline.
func (r *Redis) Exhausted(ctx context.Context, until time.Time) error {
	_ = r.memo.Exhausted(ctx, until)
	ttl := until.Sub(r.opts.Now()).Milliseconds()
	if ttl <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.Timeout)
	defer cancel()
	if err := raise.Run(ctx, r.rdb, []string{r.opts.Key}, until.UnixMilli(), ttl).Err(); err != nil {
		return fmt.Errorf("ratelimit: writing %s to Redis: %w", r.opts.Key, err)
	}
	return nil
}
