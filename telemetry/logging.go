package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
)

// NewLogger returns the service's logger: JSON lines (production) or text
// (dev), each record carrying the request id and the trace and span ids of
// the context it was logged with. When w is a LogBuffer, every record at
// WARN or above flushes it.
func NewLogger(w io.Writer, level slog.Leveler, text bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if text {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	if b, ok := w.(*LogBuffer); ok {
		h = flushingHandler{Handler: h, b: b}
	}
	return slog.New(ContextHandler{Handler: h})
}

// flushingHandler writes a LogBuffer out after each WARN or ERROR record,
// so those are never held back (nor lost to a crash).
type flushingHandler struct {
	slog.Handler
	b *LogBuffer
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.b.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.b}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.b}
}

// ContextHandler adds request_id, trace_id and span_id from the record's
// context to every record, so the lines of one request join up with each
// other and with its trace.
type ContextHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := RequestIDFrom(ctx); id != "" {
			r.AddAttrs(slog.String("request_id", id))
		}
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h ContextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ContextHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h ContextHandler) WithGroup(name string) slog.Handler {
	return ContextHandler{h.Handler.WithGroup(name)}
}

// go-redis has one process-wide logger (redis.SetLogger), which by default
// prints plain text to stderr, into the middle of the JSON stream. It is
// replaced once by redisLog, which writes to the logger RouteRedisLogs was
// last given.
var (
	redisLogOnce   sync.Once
	redisLogTarget atomic.Pointer[slog.Logger]
)

// RouteRedisLogs sends go-redis's own log lines to log from now on, at
// WARN with the library's message. The first call installs the adapter;
// later calls (another service in the same process, as in tests) only move
// the target.
func RouteRedisLogs(log *slog.Logger) {
	redisLogTarget.Store(log)
	redisLogOnce.Do(func() { redis.SetLogger(redisLog{}) })
}

type redisLog struct{}

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	log := redisLogTarget.Load()
	if log == nil {
		return
	}
	if ctx == nil {
		ctx = context.Background()
	}
	log.WarnContext(ctx, strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "go-redis")
}
