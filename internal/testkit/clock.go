package testkit

import (
	"sync"
	"time"
)

// Clock is a clock a test sets and moves; safe across goroutines. Pass
// its Now wherever the code under test takes a clock, and inject the same
// one into everything the test checks, so no check depends on today's date.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
