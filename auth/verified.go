package auth

import (
	"context"
	"crypto/sha256"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// verifiedTokens remembers tokens this instance has verified, by a hash of
// the token, so a client's next request with the same token costs a map
// look-up instead of an RSA verification and a claims parse. It also keeps
// the moment the token was first seen here (Principal.FirstSeen), which
// the profile's freshness rule (profiling.ReadForToken) needs to be stable
// across the token's requests.
//
// Only successes are kept: a refused token is verified (and counted) every
// time. A kept token is served until its exp plus the leeway, and only
// while its signing key is still published, so a key the tenant rotated
// out stops its tokens at once.
type verifiedTokens struct {
	lru *lru.Cache[[sha256.Size]byte, *verifiedToken] // nil: off
}

type verifiedToken struct {
	principal Principal
	expires   time.Time // exp + leeway
	kid       string
}

func newVerifiedTokens(size int) verifiedTokens {
	if size <= 0 {
		return verifiedTokens{}
	}
	l, err := lru.New[[sha256.Size]byte, *verifiedToken](size)
	if err != nil {
		panic("auth: verified tokens: " + err.Error()) // only for size <= 0
	}
	return verifiedTokens{lru: l}
}

// get returns the principal of a token verified earlier, if it is still
// valid at now and its key still published.
func (c verifiedTokens) get(ctx context.Context, v *Verifier, key [sha256.Size]byte, now time.Time) (*Principal, bool) {
	if c.lru == nil {
		return nil, false
	}
	t, ok := c.lru.Get(key)
	if !ok {
		return nil, false
	}
	if !now.Before(t.expires) || !v.published(ctx, t.kid) {
		c.lru.Remove(key)
		return nil, false
	}
	p := t.principal
	return &p, true
}

// add keeps a verified token and returns the principal to use: the one
// kept first when another request verified the same token meanwhile, so
// every request with the token agrees on when it was first seen.
func (c verifiedTokens) add(key [sha256.Size]byte, t *verifiedToken) *Principal {
	if c.lru != nil {
		if prev, ok, _ := c.lru.PeekOrAdd(key, t); ok {
			t = prev
		}
	}
	p := t.principal
	return &p
}

// published reports whether the key set still holds kid.
func (v *Verifier) published(ctx context.Context, kid string) bool {
	_, err := v.keys.Storage().KeyRead(ctx, kid)
	return err == nil
}
