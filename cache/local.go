package cache

import (
	lru "github.com/hashicorp/golang-lru/v2"
)

// localCopies is this instance's own copy of the entries it recently read
// or wrote, consulted only when Redis cannot answer (an outage, the breaker
// open, or a Redis call that timed out because this process is starved of
// CPU). Without it, each of those reads would go to the rate-limited
// upstream; with it, a Redis outage costs upstream at most one read per
// user per TTL per instance.
//
// It never answers while Redis does, so it cannot hide another instance's
// write from a reader then. While Redis is unavailable, another instance's
// write becomes visible here when the copy's fresh period ends (at most
// TTL): no shared channel exists to say so sooner. This instance's own
// writes replace its copies at once.
//
// It holds the entries' encoded bytes, so every reader decodes its own
// copy, as with Redis.
type localCopies struct {
	lru *lru.Cache[string, []byte] // nil: off
}

func newLocalCopies(size int) localCopies {
	if size <= 0 {
		return localCopies{}
	}
	l, err := lru.New[string, []byte](size)
	if err != nil {
		panic("cache: local copies: " + err.Error()) // only for size <= 0
	}
	return localCopies{lru: l}
}

func (l localCopies) put(id string, raw []byte) {
	if l.lru != nil {
		l.lru.Add(id, raw)
	}
}

func (l localCopies) drop(id string) {
	if l.lru != nil {
		l.lru.Remove(id)
	}
}

// get returns the decoded copy, or nil.
func (l localCopies) get(id string) *cached {
	if l.lru == nil {
		return nil
	}
	raw, ok := l.lru.Get(id)
	if !ok {
		return nil
	}
	e, err := decode(raw, id)
	if err != nil {
		return nil
	}
	return e
}
