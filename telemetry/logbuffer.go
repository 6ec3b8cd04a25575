package telemetry

import (
	"io"
	"sync"
	"time"
)

// LogBuffer holds log lines in memory and writes them out together: at
// most every after the first line it holds, as soon as it holds
// maxBuffered bytes, on Flush and on Close. A write system call per access
// line took about a fifth of the cached prompt's CPU at the default
// LOG_LEVEL=info (README, Performance). NewLogger flushes it after every
// line at WARN or above, so those are never held; what a crash can lose is
// at most every of INFO lines.
type LogBuffer struct {
	every time.Duration

	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	pending bool // a flush is scheduled
	timer   *time.Timer
	closed  bool
}

// maxBuffered is the most a LogBuffer holds before it writes: about 250
// access lines, a few milliseconds of a busy instance's.
const maxBuffered = 64 << 10

// NewLogBuffer returns a LogBuffer writing to w at most every after a line.
func NewLogBuffer(w io.Writer, every time.Duration) *LogBuffer {
	b := &LogBuffer{w: w, every: every}
	b.timer = time.AfterFunc(time.Hour, func() { _ = b.Flush() })
	b.timer.Stop()
	return b
}

// Write holds p (one whole log line: slog writes each record at once).
// After Close it writes through.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= maxBuffered {
		return len(p), b.flushLocked()
	}
	if !b.pending {
		b.pending = true
		b.timer.Reset(b.every)
	}
	return len(p), nil
}

// Flush writes what is held.
func (b *LogBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *LogBuffer) flushLocked() error {
	b.pending = false
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	if cap(b.buf) > 4*maxBuffered {
		b.buf = nil // one burst must not keep its memory
	} else {
		b.buf = b.buf[:0]
	}
	return err // the lines are dropped either way: a log that cannot be written is not retried
}

// Close writes what is held; later lines are written at once.
func (b *LogBuffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.timer.Stop()
	return b.flushLocked()
}
