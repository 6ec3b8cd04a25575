package cache

import (
	"bytes"

	lru "github.com/hashicorp/golang-lru/v2"
)

// localCopies is this instance's own copy of the entries it recently read
// or wrote, decoded. It has two uses.
//
// It answers while Redis cannot (an outage, the breaker open, or a Redis
// call that timed out because this process is starved of CPU). Without it,
// each of those reads would go to the rate-limited upstream; with it, a
// Redis outage costs upstream at most one read per user per TTL per
// instance. It never answers while Redis does, so it cannot hide another
// instance's write from a reader then. While Redis is unavailable, another
// instance's write becomes visible here when the copy's fresh period ends
// (at most TTL): no shared channel exists to say so sooner. This
// instance's own writes replace its copies at once.
//
// And it saves decoding: an entry Redis hands back byte for byte as kept is
// answered with a deep copy of the kept one (cloneUser) instead of a JSON
// decode, which was most of a cache hit's CPU.
//
// The kept entries are never handed out: every caller gets its own copy.
type localCopies struct {
	lru *lru.Cache[string, *cached] // nil: off (and every decode is a JSON decode)
}

func newLocalCopies(size int) localCopies {
	if size <= 0 {
		return localCopies{}
	}
	l, err := lru.New[string, *cached](size)
	if err != nil {
		panic("cache: local copies: " + err.Error()) // only for size <= 0
	}
	return localCopies{lru: l}
}

// keep keeps raw, decoded, as this instance's copy of the user (a no-op
// when that is what it keeps already).
func (l localCopies) keep(id string, raw []byte) error {
	if l.lru == nil {
		return nil
	}
	if e, ok := l.lru.Peek(id); ok && bytes.Equal(e.raw, raw) {
		return nil
	}
	e, err := decodeJSON(raw, id)
	if err != nil {
		return err
	}
	l.lru.Add(id, e)
	return nil
}

// put keeps e, an entry no one changes any more, as this instance's copy
// of the user.
func (l localCopies) put(id string, e *cached) {
	if l.lru != nil {
		l.lru.Add(id, e)
	}
}

// take keeps raw as this instance's copy of the user and returns the
// caller's own copy of it.
func (l localCopies) take(id string, raw []byte) (*cached, error) {
	if err := l.keep(id, raw); err != nil {
		return nil, err
	}
	return l.decode(raw, id)
}

func (l localCopies) drop(id string) {
	if l.lru != nil {
		l.lru.Remove(id)
	}
}

// get returns a copy of the kept entry, or nil.
func (l localCopies) get(id string) *cached {
	if l.lru == nil {
		return nil
	}
	e, ok := l.lru.Get(id)
	if !ok {
		return nil
	}
	return e.copyFor(e.raw)
}

// decode returns the caller's own copy of the entry raw: copied from the
// kept entry when raw is byte for byte what was kept, else decoded.
func (l localCopies) decode(raw []byte, id string) (*cached, error) {
	if l.lru != nil {
		if e, ok := l.lru.Get(id); ok && bytes.Equal(e.raw, raw) {
			return e.copyFor(raw), nil
		}
	}
	return decodeJSON(raw, id)
}
