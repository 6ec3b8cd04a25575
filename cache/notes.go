package cache

import (
	"hash/maphash"
	"math"
	"sync/atomic"
	"time"
)

// A reader that misses and then finds no fill of its user in flight
// starts one. A fill that ended in between, after storing the user, would
// make that second fill a wasted upstream read; so a fill looks in Redis
// again first, but only when one of this instance's fills or writes of the
// user ended since the reader began its lookup. The cache notes, per slot
// of a hash of the user id, the last such end. Users sharing a slot cost
// each other at most a needless recheck, never a missed one: a slot only
// moves forward, so it is never earlier than any of its users' last end.

// storeSlots is how many notes the cache keeps (8 bytes each).
const storeSlots = 1024

const (
	recheckAlways int64 = math.MinInt64 // every fill ended since
	recheckNever  int64 = math.MaxInt64 // no fill ends after it
)

type storeNotes struct {
	epoch time.Time // the clock's zero, with a monotonic reading
	seed  maphash.Seed
	slots [storeSlots]atomic.Int64
}

func newStoreNotes() *storeNotes {
	return &storeNotes{epoch: time.Now(), seed: maphash.MakeSeed()}
}

// clock is a monotonic reading for comparing with notes: nanoseconds since
// the cache was made.
func (c *Cache) clock() int64 { return int64(time.Since(c.notes.epoch)) }

func (c *Cache) slot(id string) *atomic.Int64 {
	return &c.notes.slots[maphash.String(c.notes.seed, id)%storeSlots]
}

// noteStored records that a fill or write of the user ended now: after
// its store, so a reader whose lookup ran before the store began earlier.
func (c *Cache) noteStored(id string) {
	s, now := c.slot(id), c.clock()
	for {
		old := s.Load()
		if old >= now || s.CompareAndSwap(old, now) {
			return
		}
	}
}

// storedSince reports whether a fill or write of the user may have ended
// at or after the clock reading t.
func (c *Cache) storedSince(id string, t int64) bool {
	return t != recheckNever && c.slot(id).Load() >= t
}
