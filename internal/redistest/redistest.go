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
// StartCluster and StartSentinel run the same binary as a one-node Redis
// Cluster or as a Sentinel watching another Server, so cluster and failover
// clients are tested against the real protocols too.
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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/progressive-profiling/bff/internal/syncbuf"
)

// InstallHint says how to get the binary this package needs.
const InstallHint = "redis-server not found on PATH: install it with `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)"

// readyTimeout bounds how long a starting redis-server may take to be
// ready; generous because CI machines are shared and noisy.
const readyTimeout = 15 * time.Second

// Server is one redis-server process owned by a test or a test package.
// Its methods are safe for concurrent use.
type Server struct {
	tb   testing.TB // nil when started by Run (TestMain); failures then panic
	bin  string
	dir  string
	port int
	mode mode

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been reaped
}

// mode is what kind of Redis a Server runs.
type mode struct {
	// cluster: a one-node Redis Cluster owning every hash slot.
	cluster bool
	// sentinel: a Redis Sentinel watching sentinelMaster as masterName.
	sentinel       bool
	sentinelMaster string
	masterName     string
}

// Start starts a redis-server for one test and stops it when the test ends.
// It fails the test, saying how to install redis-server, if the binary is
// missing.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return startForTest(tb, mode{})
}

// StartCluster starts a one-node Redis Cluster that owns all 16384 hash
// slots, so cluster clients can be tested against the real protocol
// (CLUSTER SLOTS, MOVED) without six processes. Restart gives a fresh,
// again fully slotted, node.
func StartCluster(tb testing.TB) *Server {
	tb.Helper()
	return startForTest(tb, mode{cluster: true})
}

// StartSentinel starts a Redis Sentinel (redis-server --sentinel) that
// monitors master under masterName, so failover clients can be tested end
// to end: they ask this sentinel for the master's address and then talk to
// master.
func StartSentinel(tb testing.TB, master *Server, masterName string) *Server {
	tb.Helper()
	return startForTest(tb, mode{sentinel: true, sentinelMaster: master.Addr(), masterName: masterName})
}

func startForTest(tb testing.TB, m mode) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatal("redistest: " + InstallHint)
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), mode: m}
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
	args, err := s.args()
	if err != nil {
		return err
	}
	log := &syncbuf.Buffer{}
	cmd := exec.Command(s.bin, args...)
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
	s.cmd, s.exited = cmd, exited

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

// args returns the command line for the server's mode, writing the config
// file a sentinel needs (sentinel rewrites its own config, so it must be a
// file, and it is rewritten at every start so Restart begins afresh).
func (s *Server) args() ([]string, error) {
	common := []string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(s.port),
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", "",
		"--loglevel", "warning",
	}
	switch {
	case s.mode.sentinel:
		conf := filepath.Join(s.dir, "sentinel.conf")
		host, port, err := net.SplitHostPort(s.mode.sentinelMaster)
		if err != nil {
			return nil, fmt.Errorf("sentinel master address %q: %w", s.mode.sentinelMaster, err)
		}
		body := fmt.Sprintf("sentinel monitor %s %s %s 1\n", s.mode.masterName, host, port)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return nil, fmt.Errorf("write sentinel config: %w", err)
		}
		return append([]string{conf, "--sentinel"}, common...), nil
	case s.mode.cluster:
		nodes := filepath.Join(s.dir, "nodes.conf")
		// A leftover nodes.conf would bring back the old node's identity.
		if err := os.Remove(nodes); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove old cluster config: %w", err)
		}
		return append(append(common, noPersistence()...),
			"--cluster-enabled", "yes",
			"--cluster-config-file", nodes,
		), nil
	default:
		return append(common, noPersistence()...), nil
	}
}

// noPersistence keeps every start empty and writes nothing to disk.
func noPersistence() []string {
	return []string{"--save", "", "--appendonly", "no"}
}

// waitReady polls probe until the server is ready, exits, or readyTimeout
// passes. Asking the server (not sleeping a fixed time) is what tells us it
// accepts commands.
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
		lastErr = s.probe(ctx, client)
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
	return fmt.Errorf("not ready within %v: %v", readyTimeout, lastErr)
}

// probe reports whether the server is ready for its mode: it answers PING,
// and a cluster node owns every slot and says so, and a sentinel knows its
// master.
func (s *Server) probe(ctx context.Context, client *redis.Client) error {
	if err := client.Ping(ctx).Err(); err != nil {
		return err
	}
	switch {
	case s.mode.cluster:
		err := client.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err()
		if err != nil && !strings.Contains(err.Error(), "busy") { // already assigned by an earlier probe
			return fmt.Errorf("assign slots: %w", err)
		}
		info, err := client.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return errors.New("cluster state not ok yet")
		}
	case s.mode.sentinel:
		addr, err := client.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.mode.masterName).StringSlice()
		if err != nil {
			return fmt.Errorf("sentinel does not know master %q: %w", s.mode.masterName, err)
		}
		if len(addr) != 2 || net.JoinHostPort(addr[0], addr[1]) != s.mode.sentinelMaster {
			return fmt.Errorf("sentinel reports master %q at %v, want %s", s.mode.masterName, addr, s.mode.sentinelMaster)
		}
	}
	return nil
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
