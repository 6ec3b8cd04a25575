package apq_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/apq"
	"github.com/progressive-profiling/bff/internal/redistest"
)

func hashOf(q string) string {
	sum := sha256.Sum256([]byte(q))
	return hex.EncodeToString(sum[:])
}

func TestStoreRoundTripTTLAndBounds(t *testing.T) {
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	s := apq.New(rdb, apq.Options{TTL: time.Hour, MaxQueryBytes: 100})

	q := "{ viewer { id } }"
	h := hashOf(q)
	if _, ok := s.Get(ctx, h); ok {
		t.Fatal("hit before Add")
	}
	s.Add(ctx, h, q)
	if got, ok := s.Get(ctx, h); !ok || got != q {
		t.Fatalf("Get = %q, %v", got, ok)
	}
	// A read renews the TTL.
	rdb.Expire(ctx, s.Key(h), time.Minute)
	s.Get(ctx, h)
	if ttl := rdb.TTL(ctx, s.Key(h)).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("TTL after a read %s, want it renewed to 1h", ttl)
	}

	big := "{ viewer { id } }" + strings.Repeat(" ", 100)
	s.Add(ctx, hashOf(big), big)
	if n := rdb.Exists(ctx, s.Key(hashOf(big))).Val(); n != 0 {
		t.Error("a query over MaxQueryBytes was stored")
	}
	// Only SHA-256 hex names a key.
	rdb.Set(ctx, s.Key("other"), "x", 0)
	if _, ok := s.Get(ctx, "other"); ok {
		t.Error("a non-hash read a key")
	}

	rs.Stop()
	if _, ok := s.Get(ctx, h); ok {
		t.Error("hit with Redis down")
	}
	s.Add(ctx, h, q) // must not panic or block
}
