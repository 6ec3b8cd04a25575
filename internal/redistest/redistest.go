// Package redistest runs a real redis-server for tests: on a free loopback
// port, in a temporary directory, with persistence off, so that every test
// (or every package, from TestMain) gets its own empty Redis.
//
// Besides starting and cleaning up, a Server can be made to misbehave the way
// production Redis does: Stop kills it (Redis down), Restart brings it back on
// the same port with no data (a failover to an empty replica), and
// Pause/Resume freeze it with SIGSTOP/SIGCONT (a blackholed or badly slow
// Redis: connections are accepted by the kernel but nothing answers).
//
// The redis-server binary must be on PATH; on Debian or Ubuntu install it with
// `apt-get install redis-server`.
package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// InstallHint says how to get the binary this package needs.
const InstallHint = "redis-server not found on PATH: install it with `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)"

// readyTimeout bounds how long a starting redis-server may take to answer
// PING; generous because CI machines are shared and noisy.
const readyTimeout = 15 * time.Second

// Server is one redis-server process owned by a test or a test package.
// Its methods are safe for concurrent use.
type Server struct {
	tb   testing.TB // nil when started by Run (TestMain); failures then panic
	bin  string
	dir  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been reaped
	log    *syncBuffer
}

// Start starts a redis-server for one test and stops it when the test ends.
// It fails the test, saying how to install redis-server, if the binary is
// missing.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatal("redistest: " + InstallHint)
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir()}
	if err := s.startOnFreePort(); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Run starts a redis-server for a whole test package, typically from
// TestMain, where there is no testing.TB. The caller must call Close. Methods
// that cannot do their job (Restart, for example) panic on a Server started
// this way.
func Run() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redistest: " + InstallHint)
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: temp dir: %w", err)
	}
	s := &Server{bin: bin, dir: dir}
	if err := s.startOnFreePort(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("redistest: %w", err)
	}
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL is the server's address as a redis:// URL selecting database 0.
func (s *Server) URL() string {
	return "redis://" + s.Addr() + "/0"
}

// Stop kills the server abruptly, as a crash would. Clients see refused
// connections until Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

// Restart stops the server if it runs and starts a new one on the same port
// with no data, so clients that reconnect find an empty cache.
func (s *Server) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
	// The port was ours a moment ago; another process grabbing it in between
	// is unlikely but possible, so retry briefly before failing.
	var err error
	for range 5 {
		if err = s.startLocked(); err == nil {
			return
		}
		if !errors.Is(err, errPortTaken) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.fail("restart on port %d: %v", s.port, err)
}

// Pause freezes the server with SIGSTOP: the kernel still accepts
// connections and buffers requests, but no reply comes until Resume. This is
// what a blackholed or overloaded Redis looks like to a client.
func (s *Server) Pause() {
	s.signal(syscall.SIGSTOP)
}

// Resume lets a paused server run again; it then answers everything that
// was buffered while it was paused.
func (s *Server) Resume() {
	s.signal(syscall.SIGCONT)
}

// Close stops the server and removes its directory. Start registers it as a
// test cleanup; callers of Run must call it themselves.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
	if s.tb == nil {
		os.RemoveAll(s.dir)
	}
}

// Log returns what redis-server has printed so far, for diagnosing a failing
// test.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.fail("cannot send %v: server is not running", sig)
		return
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.fail("send %v: %v", sig, err)
	}
}

var errPortTaken = errors.New("port already in use")

func (s *Server) startOnFreePort() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Asking the kernel for a free port and then handing it to redis-server
	// leaves a short window in which a parallel test could take it; retry
	// with a new port when that happens.
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			return err
		}
		if err = s.startLocked(); err == nil || !errors.Is(err, errPortTaken) {
			return err
		}
	}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) startLocked() error {
	log := &syncBuffer{}
	cmd := exec.Command(s.bin,
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(s.port),
		"--dir", s.dir,
		// No persistence: every start is empty and nothing is written to disk.
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", "",
		"--loglevel", "warning",
	)
	cmd.Stdout = log
	cmd.Stderr = log
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.log = cmd, exited, log

	if err := s.waitReady(exited); err != nil {
		s.killLocked()
		out := log.String()
		if bytes.Contains([]byte(out), []byte("Address already in use")) {
			return fmt.Errorf("port %d: %w", s.port, errPortTaken)
		}
		return fmt.Errorf("redis-server on port %d did not become ready: %v; its output:\n%s", s.port, err, out)
	}
	return nil
}

// waitReady polls with PING until the server answers, exits, or
// readyTimeout passes. Polling PING (not sleeping a fixed time) is what
// tells us the server accepts commands.
func (s *Server) waitReady(exited <-chan struct{}) error {
	client := redis.NewClient(&redis.Options{
		Addr:         s.Addr(),
		DialTimeout:  time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		MaxRetries:   -1,
		// Readiness probes come from a fresh client each start; there is
		// nothing to pool.
		PoolSize: 1,
	})
	defer client.Close()
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("redis-server exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		lastErr = client.Ping(ctx).Err()
		cancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("redis-server exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("no PONG within %v: %v", readyTimeout, lastErr)
}

// killLocked sends SIGKILL (which also ends a SIGSTOPped process) and waits
// for the process to be reaped, so the port is free when it returns.
func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}

func (s *Server) fail(format string, args ...any) {
	msg := fmt.Sprintf("redistest: "+format, args...)
	if s.tb != nil {
		s.tb.Helper()
		s.tb.Fatal(msg)
		return
	}
	panic(msg)
}

// syncBuffer collects the server's output; exec writes to it from its own
// goroutine while tests may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
