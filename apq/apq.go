// Package apq keeps automatic persisted queries in Redis, so a mobile
// client registers a query once and from then on sends only its SHA-256
// hash, to any instance. Store implements gqlgen's graphql.Cache[string]
// (what extension.AutomaticPersistedQuery takes) on the service's own
// go-redis client.
//
// The store is bounded: every entry expires TTL after its last use (a read
// renews it), and a query longer than MaxQueryBytes is never stored (it
// still runs; the client simply keeps sending it in full). Redis failing is
// a miss: the client re-sends the query, which costs bytes, never an
// error.
package apq

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// DefaultPrefix namespaces the keys: Prefix + the lower-case hex hash.
	DefaultPrefix = "pp:apq:"
	// DefaultTTL keeps a query a day after its last use: an app version in
	// use keeps its queries, a retired one's fade away.
	DefaultTTL = 24 * time.Hour
	// DefaultMaxQueryBytes is far above any operation the clients send, and
	// keeps one key from holding a body-cap's worth of text.
	DefaultMaxQueryBytes = 16 << 10

	// callTimeout bounds one Redis call: a slow Redis must cost a miss,
	// not the request's deadline.
	callTimeout = 250 * time.Millisecond
)

// Options tune a Store; zero values take the defaults.
type Options struct {
	Prefix        string
	TTL           time.Duration
	MaxQueryBytes int
}

// Store is a graphql.Cache[string] in Redis.
type Store struct {
	rdb  redis.UniversalClient
	opts Options
}

// New returns a Store on rdb.
func New(rdb redis.UniversalClient, o Options) *Store {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxQueryBytes <= 0 {
		o.MaxQueryBytes = DefaultMaxQueryBytes
	}
	return &Store{rdb: rdb, opts: o}
}

// Key is the Redis key of a hash, for tests and operators.
func (s *Store) Key(hash string) string { return s.opts.Prefix + hash }

// validHash admits only what a SHA-256 in hex is, so a client cannot make
// the service read arbitrary keys.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// Get returns the query registered under hash and renews its TTL.
func (s *Store) Get(ctx context.Context, hash string) (string, bool) {
	if !validHash(hash) {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	q, err := s.rdb.GetEx(ctx, s.Key(hash), s.opts.TTL).Result()
	if err != nil {
		return "", false
	}
	return q, true
}

// Add registers query under hash; gqlgen has checked that the hash is the
// query's.
func (s *Store) Add(ctx context.Context, hash, query string) {
	if !validHash(hash) || len(query) > s.opts.MaxQueryBytes {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_ = s.rdb.Set(ctx, s.Key(hash), query, s.opts.TTL).Err()
}
