// Package syncbuf provides a bytes.Buffer that one goroutine can write while
// another reads it: a server's output captured by the test that started it.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a concurrency-safe bytes.Buffer for Write and String.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
