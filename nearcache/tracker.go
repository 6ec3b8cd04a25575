package nearcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

type trackerConfig struct {
	network, addr, username, password string
	prefixes                          []string
	heartbeat, liveness, dialTimeout  time.Duration
	log                               *slog.Logger
	// onInvalidate and onFlush apply what Redis pushed; they run with the
	// tracker's lock held.
	onInvalidate func(key string)
	onFlush      func()
}

// tracker owns the tracking connection: it connects (and reconnects), pings
// it, and applies what it receives, both from its own reader goroutine and
// from each read's fence (sync).
type tracker struct {
	cfg    trackerConfig
	stop   context.CancelFunc
	done   chan struct{}
	logged *rate.Limiter // reconnect failures: once a minute

	// mu is held while the connection's bytes are read and applied, and
	// guards everything below.
	mu sync.Mutex
	// conn is the current connection (nil while there is none); fence is a
	// duplicate of its descriptor that reads drain without blocking.
	conn  net.Conn
	fence fence
	buf   []byte // received, not yet parsed
	// epoch counts connections (and flushes): a value kept in an earlier
	// epoch may have missed invalidations and is never used.
	epoch uint64
	// seen counts invalidations applied. A read notes it when it starts
	// (sync) and registers the keys it is about to load in reading; an
	// invalidation of a registered key stamps it with the count, so a
	// value whose own key moved while it was read (it may be outdated
	// already) is not kept, and writes of other keys do not matter.
	seen    uint64
	reading map[string]*reads
	// pings holds when each unanswered PING was sent, oldest first;
	// answered when the latest answered one was.
	pings    []time.Time
	answered time.Time
}

// reads is a key's loads in flight: how many, and the invalidation count
// when the key was last invalidated while any was.
type reads struct {
	n           int
	invalidated uint64
}

func startTracker(ctx context.Context, cfg trackerConfig) (*tracker, error) {
	t := &tracker{cfg: cfg, done: make(chan struct{}), logged: rate.NewLimiter(rate.Every(time.Minute), 1),
		reading: map[string]*reads{}}
	conn, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	ctx, t.stop = context.WithCancel(context.WithoutCancel(ctx))
	go t.run(ctx, conn)
	return t, nil
}

func (t *tracker) close() {
	t.stop()
	<-t.done
}

// run serves one connection after another until ctx ends.
func (t *tracker) run(ctx context.Context, conn net.Conn) {
	defer close(t.done)
	backoff := 50 * time.Millisecond
	for {
		err := t.serve(ctx, conn)
		if ctx.Err() != nil {
			return
		}
		t.cfg.log.Warn("nearcache: tracking connection lost; reads go to Redis until it is back", "error", err)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			conn, err = t.connect(ctx)
			if err == nil {
				backoff = 50 * time.Millisecond
				break
			}
			backoff = min(2*backoff, 2*time.Second)
			if t.logged.Allow() {
				t.cfg.log.Warn("nearcache: cannot reconnect the tracking connection (logged once a minute)", "error", err)
			}
		}
	}
}

// connect dials Redis and turns tracking on, with the whole handshake
// bounded by the dial timeout.
func (t *tracker) connect(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.dialTimeout)
	defer cancel()
	network := t.cfg.network
	if network == "" {
		network = "tcp"
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, network, t.cfg.addr)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, err
	}
	hello := []string{"HELLO", "3"}
	if t.cfg.password != "" {
		user := t.cfg.username
		if user == "" {
			user = "default"
		}
		hello = append(hello, "AUTH", user, t.cfg.password)
	}
	hello = append(hello, "SETNAME", "bff-nearcache")
	tracking := []string{"CLIENT", "TRACKING", "ON", "BCAST"}
	for _, p := range t.cfg.prefixes {
		tracking = append(tracking, "PREFIX", p)
	}
	sent := time.Now()
	if _, err := conn.Write(appendCommand(appendCommand(nil, hello...), tracking...)); err != nil {
		conn.Close()
		return nil, err
	}
	var buf []byte
	var replies []value
	for len(replies) < 2 {
		chunk := make([]byte, 4096)
		n, err := conn.Read(chunk)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: no answer to the tracking handshake: %w", ErrUnsupported, err)
		}
		buf = append(buf, chunk[:n]...)
		for len(replies) < 2 {
			v, m, err := parse(buf)
			if err != nil {
				conn.Close()
				return nil, err
			}
			if m == 0 {
				break
			}
			buf = buf[m:]
			if v.kind == '>' {
				continue // a push before the replies (none is expected)
			}
			replies = append(replies, v)
		}
	}
	for i, r := range replies {
		if r.kind == '-' || r.kind == '!' {
			conn.Close()
			return nil, fmt.Errorf("%w: Redis refused %s: %s", ErrUnsupported, []string{"HELLO 3", "CLIENT TRACKING"}[i], r.str)
		}
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, err
	}
	f, err := newFence(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	t.mu.Lock()
	t.conn, t.fence, t.buf = conn, f, append([]byte(nil), buf...)
	t.epoch++
	t.pings, t.answered = t.pings[:0], sent // tracking was on once its reply came
	t.cfg.onFlush()                         // values kept before may have missed invalidations
	t.mu.Unlock()
	return conn, nil
}

// serve reads and pings conn until it fails or ctx ends, then retires it.
func (t *tracker) serve(ctx context.Context, conn net.Conn) error {
	stopHeartbeat := make(chan struct{})
	beat := make(chan struct{})
	go func() { defer close(beat); t.heartbeat(conn, stopHeartbeat) }()
	stopWatch := context.AfterFunc(ctx, func() { conn.Close() })
	err := t.read(conn)
	stopWatch()
	conn.Close()
	close(stopHeartbeat)
	<-beat
	t.mu.Lock()
	t.fence.close()
	t.conn, t.fence, t.buf = nil, fence{}, nil
	t.epoch++
	t.cfg.onFlush()
	t.mu.Unlock()
	return err
}

// read applies what conn receives, from the moment it is readable, until
// it fails.
func (t *tracker) read(conn net.Conn) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return errors.New("nearcache: connection has no descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var failed error
	err = raw.Read(func(fd uintptr) bool {
		t.mu.Lock()
		defer t.mu.Unlock()
		failed = t.drainLocked(readerFence(fd))
		return failed != nil // false: wait until readable again
	})
	if failed != nil {
		return failed
	}
	if err == nil {
		err = io.EOF
	}
	return err
}

// heartbeat pings conn every heartbeat, and closes it when Redis has not
// answered for three times the liveness, so a new connection is tried.
func (t *tracker) heartbeat(conn net.Conn, stop <-chan struct{}) {
	tick := time.NewTicker(t.cfg.heartbeat)
	defer tick.Stop()
	ping := appendCommand(nil, "PING")
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		t.mu.Lock()
		silent := now.Sub(t.answered)
		if len(t.pings) < 64 {
			t.pings = append(t.pings, now)
		}
		t.mu.Unlock()
		if silent > 3*t.cfg.liveness {
			conn.Close()
			return
		}
		if err := conn.SetWriteDeadline(now.Add(t.cfg.liveness)); err != nil {
			conn.Close()
			return
		}
		if _, err := conn.Write(ping); err != nil {
			conn.Close()
			return
		}
	}
}

// sync is a read's fence: it applies whatever the connection has received
// by now, and says in which epoch and after how many invalidations that
// leaves the cache, and whether memory may answer.
func (t *tracker) sync(now time.Time) (epoch, seen uint64, live bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.fenceLocked() {
		return 0, 0, false
	}
	return t.epoch, t.seen, now.Sub(t.answered) < t.cfg.liveness
}

// fenceLocked applies what the connection has received without blocking,
// and reports whether there is a usable connection.
func (t *tracker) fenceLocked() bool {
	if t.conn == nil {
		return false
	}
	if err := t.drainLocked(t.fence); err != nil {
		// The reader goroutine meets the same end and reconnects; until
		// then nothing here may answer.
		t.fence.close()
		t.conn = nil
		t.epoch++
		t.cfg.onFlush()
		return false
	}
	return true
}

// live reports whether memory may answer now.
func (t *tracker) live(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conn != nil && now.Sub(t.answered) < t.cfg.liveness
}

// begin registers loads of keys about to start, after a sync that
// returned seen. Registering after sync is safe: an invalidation applied
// in between is of a write Redis made before the load reads the key.
func (t *tracker) begin(keys []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		r := t.reading[k]
		if r == nil {
			r = &reads{}
			t.reading[k] = r
		}
		r.n++
	}
}

// finish ends the loads begin registered. With ok (the load succeeded) it
// runs add(i) for each keys[i] not invalidated since sync returned epoch
// and seen, provided no connection was lost meanwhile, counting what the
// connection has received by now (the fence again: an invalidation
// already here but not yet applied by the reader goroutine must not let
// an older value in).
func (t *tracker) finish(epoch, seen uint64, keys []string, ok bool, add func(i int)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ok = ok && t.fenceLocked() && t.epoch == epoch
	for i, k := range keys {
		r := t.reading[k]
		if ok && r.invalidated <= seen {
			add(i)
		}
		if r.n--; r.n == 0 {
			delete(t.reading, k)
		}
	}
}

// forget runs drop as an invalidation of key of this process's own.
func (t *tracker) forget(key string, drop func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.invalidatedLocked(key)
	drop()
}

// invalidatedLocked counts an invalidation of key and stamps its loads in
// flight with it.
func (t *tracker) invalidatedLocked(key string) {
	t.seen++
	if r := t.reading[key]; r != nil {
		r.invalidated = t.seen
	}
}

// maxBuffered bounds what may wait to be parsed: a push message larger than
// this is a broken connection.
const maxBuffered = 16 << 20

// drainLocked reads what f's connection has received without blocking,
// and applies every whole message in it.
func (t *tracker) drainLocked(f fence) error {
	if !f.ok() {
		return errors.New("nearcache: no connection")
	}
	for {
		if len(t.buf) == cap(t.buf) {
			if cap(t.buf) >= maxBuffered {
				return fmt.Errorf("%w: a message over %d bytes", errProtocol, maxBuffered)
			}
			t.buf = append(t.buf, make([]byte, max(4096, cap(t.buf)))...)[:len(t.buf)]
		}
		room := cap(t.buf) - len(t.buf)
		n, err := f.read(t.buf[len(t.buf):cap(t.buf)])
		if n > 0 {
			t.buf = t.buf[:len(t.buf)+n]
		}
		if err == errWouldBlock {
			break
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.EOF
		}
		if n < room {
			break // all there was; what comes next the next drain takes
		}
	}
	off := 0
	for {
		v, n, err := parse(t.buf[off:])
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		off += n
		t.applyLocked(v)
	}
	t.buf = t.buf[:copy(t.buf, t.buf[off:])]
	return nil
}

func (t *tracker) applyLocked(v value) {
	if keys, flush, ok := invalidation(v); ok {
		if flush {
			t.epoch++ // no load in flight keeps what it read
			t.cfg.onFlush()
			return
		}
		for _, k := range keys {
			key := string(k.str)
			t.invalidatedLocked(key)
			t.cfg.onInvalidate(key)
		}
		return
	}
	if v.kind == '>' {
		return // another push (none is subscribed to)
	}
	// Any other value answers the oldest PING.
	if len(t.pings) > 0 {
		if v.kind != '-' {
			t.answered = t.pings[0]
		}
		t.pings = t.pings[1:]
	}
}
