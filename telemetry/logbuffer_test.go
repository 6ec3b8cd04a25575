package telemetry

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/syncbuf"
	"github.com/progressive-profiling/bff/internal/testkit"
)

// writes counts the writes it is given, as the file descriptor would.
type writes struct {
	syncbuf.Buffer
	n atomic.Int64
}

func (w *writes) Write(p []byte) (int, error) {
	w.n.Add(1)
	return w.Buffer.Write(p)
}

// INFO lines wait in memory, at most the flush interval, and go out in one
// write; a WARN line goes out at once, after what was held, in order.
func TestLogBufferHoldsInfoLinesAndWritesWarningsAtOnce(t *testing.T) {
	out := &writes{}
	b := NewLogBuffer(out, 50*time.Millisecond)
	log := NewLogger(b, slog.LevelInfo, false)
	log.Info("one")
	log.Info("two")
	if out.String() != "" {
		t.Fatalf("written at once: %s", out.String())
	}
	testkit.Eventually(t, "INFO lines never written", func() bool { return strings.Contains(out.String(), `"msg":"two"`) })
	if n := out.n.Load(); n != 1 {
		t.Fatalf("%d writes for two lines, want 1", n)
	}
	log.Info("three")
	log.Warn("careful")
	got := out.String()
	if i, j := strings.Index(got, `"msg":"three"`), strings.Index(got, `"msg":"careful"`); i < 0 || j < i {
		t.Fatalf("a WARN line returned before it and the line before it were written, in order: %s", got)
	}
}

// A buffer that fills up is written at once; Close writes what is held and
// every line after it; the buffer is not kept huge after a burst.
func TestLogBufferFlushesWhenFullAndOnClose(t *testing.T) {
	out := &writes{}
	b := NewLogBuffer(out, time.Hour)
	line := strings.Repeat("x", 1000) + "\n"
	for range maxBuffered/len(line) + 1 {
		b.Write([]byte(line))
	}
	if n := out.n.Load(); n != 1 || len(out.String()) < maxBuffered {
		t.Fatalf("%d writes, %d bytes written after %d bytes, want 1 write of them all", n, len(out.String()), maxBuffered)
	}
	b.Write([]byte("held\n"))
	if err := b.Close(); err != nil || !strings.HasSuffix(out.String(), "held\n") {
		t.Fatalf("Close: %v, %q", err, out.String()[len(out.String())-20:])
	}
	b.Write([]byte("after\n"))
	if !strings.HasSuffix(out.String(), "after\n") {
		t.Fatal("a line after Close was held")
	}
}

// Many goroutines logging at once: every line arrives whole, once.
func TestLogBufferKeepsConcurrentLinesWhole(t *testing.T) {
	out := &writes{}
	b := NewLogBuffer(out, time.Millisecond)
	log := NewLogger(b, slog.LevelInfo, false)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				log.Info("request", "g", g, "i", i, "pad", strings.Repeat("y", i%300))
			}
		}()
	}
	wg.Wait()
	b.Close()
	seen := map[[2]int]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var rec struct{ G, I int }
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("a line is not whole JSON: %v: %.100s", err, l)
		}
		seen[[2]int{rec.G, rec.I}] = true
	}
	if len(seen) != 8*500 {
		t.Fatalf("%d distinct lines, want %d", len(seen), 8*500)
	}
	t.Logf("%d lines in %d writes", len(seen), out.n.Load())
}
