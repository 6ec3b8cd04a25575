package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Client defaults Connect applies where the URL leaves them unset. They are
// short because the cache must never hold a request for long: a Redis that
// cannot answer in this time is treated as a miss.
const (
	defaultDialTimeout = 500 * time.Millisecond
	defaultIOTimeout   = 250 * time.Millisecond // read and write
	defaultPoolTimeout = 500 * time.Millisecond
	// No retries: a failed Redis command is a cache miss answered upstream,
	// which is cheaper than go-redis's retry back-off (tens of ms).
	defaultMaxRetries   = -1
	defaultDialAttempts = 1 // likewise, a refused dial is not retried
)

// pingTimeout bounds Connect's wait for a first PONG when ctx has no
// deadline.
const pingTimeout = 3 * time.Second

// Connect returns a go-redis client for redisURL (the REDIS_URL setting) and
// a function that closes it and anything Connect started.
//
// Accepted forms (query parameters are go-redis's own, e.g. read_timeout=1s,
// pool_size=20; unknown ones are an error):
//
//   - "" (empty): an embedded in-process Redis (miniredis) on a loopback
//     port, reached through the same go-redis client as a real one. For
//     development; its TTLs follow the wall clock.
//   - redis://[user:password@]host:port[/db] — a standalone server;
//     rediss:// for TLS; unix://[user:password@]/path/to/redis.sock[?db=N].
//   - redis://[user:password@]host1:port1?addr=host2:port2[&addr=host3:port3]
//     — a Redis Cluster: every addr parameter is one more seed node.
//     A cluster reached through a single seed (such as a managed service's
//     configuration endpoint) is redis://host:port?cluster=true.
//   - redis://[user:password@]sentinel1:26379[/db]?master_name=NAME[&addr=sentinel2:26379][&password=MASTER_PASSWORD]
//     — Redis Sentinel: the host and each addr are sentinels, master_name
//     names the monitored master, the URL's user info authenticates to the
//     sentinels and the username/password parameters to the master.
//
// Unless the URL says otherwise the client dials in 500ms, reads and
// writes in 250ms, waits 500ms for a pooled connection, never retries a
// command or a dial, and honours context deadlines (ContextTimeoutEnabled,
// always on), so a slow Redis cannot hold a request. Connect waits for the
// server to answer PING (until ctx ends, or 3s if ctx has no deadline), so a
// wrong REDIS_URL stops start-up with a clear error; a Redis that fails
// later only costs the cache its hits.
//
// Error messages never include the URL's password.
func Connect(ctx context.Context, redisURL string) (redis.UniversalClient, func() error, error) {
	if redisURL == "" {
		return connectEmbedded(ctx)
	}
	client, where, err := newClient(redisURL)
	if err != nil {
		return nil, nil, err
	}
	if err := waitForPong(ctx, client); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("cache: redis at %s does not answer: %w", where, err)
	}
	return client, client.Close, nil
}

// waitForPong pings until Redis answers or ctx (bounded by pingTimeout when
// it has no deadline) ends. Retrying rides over a Redis that is still
// starting beside this service, and over one slow reply on a loaded machine
// that the short read timeout would otherwise turn into a failed start.
func waitForPong(ctx context.Context, client redis.UniversalClient) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pingTimeout)
		defer cancel()
	}
	for {
		err := client.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// newClient parses redisURL into the go-redis client its form selects. It
// also returns the URL without its password, for messages.
func newClient(redisURL string) (redis.UniversalClient, string, error) {
	u, err := url.Parse(redisURL)
	if err != nil {
		// url.Error quotes the whole URL, password included; keep only why.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, "", fmt.Errorf("cache: REDIS_URL is not a valid URL: %w", err)
	}
	where := redacted(u)
	switch u.Scheme {
	case "redis", "rediss", "unix":
	default:
		return nil, "", fmt.Errorf("cache: REDIS_URL %s: scheme %q is not supported; use redis://, rediss:// or unix://", where, u.Scheme)
	}
	query := u.Query()
	invalid := func(err error) (redis.UniversalClient, string, error) {
		return nil, "", fmt.Errorf("cache: REDIS_URL %s: %w", where, err)
	}

	switch {
	case query.Has("master_name"):
		opt, err := redis.ParseFailoverURL(redisURL)
		if err != nil {
			return invalid(err)
		}
		if opt.MasterName == "" {
			return invalid(errors.New("master_name is empty"))
		}
		applyDefaults(&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.PoolTimeout, &opt.MaxRetries, &opt.DialerRetries)
		opt.ContextTimeoutEnabled = true
		return redis.NewFailoverClient(opt), where, nil

	case query.Has("addr") || query.Has("cluster"):
		single := query.Get("cluster")
		if query.Has("cluster") && single != "true" {
			return invalid(fmt.Errorf("cluster must be true when given, got %q", single))
		}
		// cluster=true is this package's marker for a one-seed cluster;
		// go-redis rejects parameters it does not know.
		query.Del("cluster")
		u.RawQuery = query.Encode()
		opt, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return invalid(err)
		}
		applyDefaults(&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.PoolTimeout, &opt.MaxRetries, &opt.DialerRetries)
		opt.ContextTimeoutEnabled = true
		return redis.NewClusterClient(opt), where, nil

	default:
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return invalid(err)
		}
		applyDefaults(&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.PoolTimeout, &opt.MaxRetries, &opt.DialerRetries)
		opt.ContextTimeoutEnabled = true
		return redis.NewClient(opt), where, nil
	}
}

// redacted renders u for messages with both places a password can sit
// masked: the user info and the sentinel form's password parameter.
func redacted(u *url.URL) string {
	masked := *u
	if query := masked.Query(); query.Has("password") {
		query.Set("password", "xxxxx")
		masked.RawQuery = query.Encode()
	}
	return masked.Redacted()
}

// applyDefaults fills the options the URL left at zero, which go-redis
// would otherwise set to its own multi-second defaults. The three option
// types share these fields but no interface, hence the pointers.
func applyDefaults(dial, read, write, pool *time.Duration, retries, dialAttempts *int) {
	setDuration := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setDuration(dial, defaultDialTimeout)
	setDuration(read, defaultIOTimeout)
	setDuration(write, defaultIOTimeout)
	setDuration(pool, defaultPoolTimeout)
	if *retries == 0 {
		*retries = defaultMaxRetries
	}
	if *dialAttempts == 0 {
		*dialAttempts = defaultDialAttempts
	}
}

// connectEmbedded starts miniredis and connects to it over TCP with the same
// client options a real standalone Redis gets.
func connectEmbedded(ctx context.Context) (redis.UniversalClient, func() error, error) {
	server := miniredis.NewMiniRedis()
	// miniredis only ages keys when told to; let the wall clock do it, or
	// dev mode would serve entries forever.
	server.ClockTTL(true)
	if err := server.Start(); err != nil {
		return nil, nil, fmt.Errorf("cache: start embedded redis: %w", err)
	}
	client, _, err := newClient("redis://" + server.Addr())
	if err != nil {
		server.Close()
		return nil, nil, err
	}
	if err := waitForPong(ctx, client); err != nil {
		client.Close()
		server.Close()
		return nil, nil, fmt.Errorf("cache: embedded redis does not answer: %w", err)
	}
	closeAll := func() error {
		err := client.Close()
		server.Close()
		return err
	}
	return client, closeAll, nil
}
