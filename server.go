// Command bff is the progressive-profiling backend-for-frontend: a GraphQL API
// that tells a signed-in user's client which profile fields to ask for now,
// validates the answers and writes them to the user's Auth0 user_metadata,
// with Redis in front of Auth0 reads.
//
// Configuration comes from the environment (see config.go and the README).
// With AUTH0_DOMAIN unset it runs in dev mode: an embedded Auth0 emulator with
// seeded users and an embedded Redis, so `go run .` needs nothing else.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/extra/redisotel/v9"

	"github.com/progressive-profiling/bff/apq"
	"github.com/progressive-profiling/bff/auth"
	"github.com/progressive-profiling/bff/auth0store"
	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/funnel"
	"github.com/progressive-profiling/bff/graphqlapi"
	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/nearcache"
	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/promptcount"
	"github.com/progressive-profiling/bff/ratelimit"
	"github.com/progressive-profiling/bff/redisconn"
	"github.com/progressive-profiling/bff/telemetry"
	"github.com/progressive-profiling/bff/userlock"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Log lines are written out together, every 100 ms at most (WARN and
	// above at once): one write per access line was a fifth of a cached
	// request's CPU.
	logs := telemetry.NewLogBuffer(os.Stderr, logFlushEvery)
	err := run(ctx, os.Getenv, os.Stdout, logs)
	_ = logs.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bff:", err)
		os.Exit(1)
	}
}

// logFlushEvery bounds how long an INFO log line waits in memory.
const logFlushEvery = 100 * time.Millisecond

// shutdownGrace is how long in-flight requests get to finish on shutdown.
const shutdownGrace = 10 * time.Second

// run starts the service and blocks until ctx ends, then shuts down
// gracefully. Tests call it with their own environment.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	return runNotifying(ctx, getenv, stdout, stderr, nil)
}

// listening is where a running service listens: its public address and
// its internal one (nil when METRICS_ADDR is off).
type listening struct{ public, internal net.Addr }

// runNotifying is run, calling onListen (when not nil) once both
// listeners accept connections: how tests learn the ports they asked the
// system to pick.
func runNotifying(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, onListen func(listening)) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(cfg, stderr)
	// go-redis logs through its own process-wide logger: from here on into
	// this log, as JSON in production like every other line.
	telemetry.RouteRedisLogs(log)
	log.Info("configuration", "config", cfg)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	tracing, err := telemetry.NewTracing(ctx, getenv)
	if err != nil {
		return err
	}
	defer func() {
		// Flush the last spans, bounded: a collector that is gone must not
		// hold the shutdown.
		flushCtx, cancelFlush := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancelFlush()
		if err := tracing.Shutdown(flushCtx); err != nil {
			log.Warn("tracing: spans not flushed at shutdown", "error", err)
		}
	}()

	a, err := assemble(ctx, cfg, log, tracing)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.ready.checkAuth0AtStartup(ctx); err != nil {
		return err
	}
	return serve(ctx, cfg, log, a, stdout, onListen)
}

// app is the service assembled from its configuration: the HTTP handler
// and what run needs around it.
type app struct {
	handler http.Handler
	// metrics is the instance's registry, served on the internal listener.
	metrics *prometheus.Registry
	rules   *profiling.Rules
	emu     *auth0emu.Server // dev mode's tenant, or nil
	ready   *readiness
	closers []func()
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// assemble builds every part of the service from cfg and wires them: the
// rules, the tenant (dev mode's emulator, or AUTH0_DOMAIN), Redis and its
// guard, the Auth0 store behind the cache, the write lock, the token
// verifier, readiness and the HTTP handler. It decides nothing that cfg
// has not decided. The caller closes the app, also after an error.
func assemble(ctx context.Context, cfg config, log *slog.Logger, tracing *telemetry.Tracing) (a *app, err error) {
	a = &app{}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if a.rules, err = loadRules(cfg.RulesPath); err != nil {
		return a, err
	}
	a.rules = a.rules.WithConditionErrorHandler(func(e *profiling.ConditionError) {
		log.Warn("stage condition failed at run time; stage skipped", "error", e)
	})

	tenant, issuer := cfg.Auth0Domain, cfg.Issuer
	if cfg.DevMode {
		if a.emu, err = startDevEmulator(cfg); err != nil {
			return a, err
		}
		a.closers = append(a.closers, func() { a.emu.Close() })
		tenant, issuer = a.emu.URL(), a.emu.UserIssuer()
	}
	base, err := auth0store.TenantURL(tenant)
	if err != nil {
		return a, fmt.Errorf("AUTH0_DOMAIN: %w", err)
	}

	rdb, closeRedis, err := redisconn.Connect(ctx, cfg.RedisURL)
	if err != nil {
		return a, fmt.Errorf("REDIS_URL: %w", err)
	}
	a.closers = append(a.closers, func() { _ = closeRedis() })
	if tracing.Enabled {
		// A span per Redis command, without its arguments (cached profiles,
		// lock tokens).
		if err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(tracing.Provider), redisotel.WithDBStatement(false)); err != nil {
			return a, fmt.Errorf("tracing redis: %w", err)
		}
	}
	if cfg.EmbeddedRedis && !cfg.DevMode {
		log.Warn("REDIS_EMBEDDED=true: in-process Redis; this instance's cache and per-user write lock are its own, so run exactly one instance")
	}

	// One registry per service instance: what /metrics shows, and what
	// tests read off a running server.
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(
		// Goroutines started (go_sched_goroutines_created_goroutines_total):
		// scripts/load reports them per request.
		collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sched/goroutines-created:goroutines$`)}),
	), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = registry

	store, err := auth0store.New(ctx, auth0store.Config{
		// Every Management API call (and token fetch) is a client span of
		// the request's trace, and sends its traceparent.
		HTTPClient: &http.Client{
			Timeout:   auth0store.DefaultTimeout,
			Transport: auth0store.TracedTransport(auth0store.NewTransport(), tracing.Provider, tracing.Propagator),
		},
		Logger:       log,
		Metrics:      registry,
		Domain:       base,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		// The tenant's rate limit is shared by every instance, and so is
		// knowing it is exhausted.
		Budget: ratelimit.NewRedis(rdb, ratelimit.RedisOptions{}),
	})
	if err != nil {
		return a, fmt.Errorf("auth0: %w", err)
	}
	// One guard (timeout and circuit breaker) for every user of Redis.
	guard := redisconn.NewGuard(rdb, redisconn.GuardConfig{Logger: log, Metrics: registry})
	cacheCfg := cfg.Cache.WithDefaults()
	cacheCfg.Logger, cacheCfg.Metrics = log, registry
	if cfg.NearCache {
		cacheCfg.Near, err = nearcache.Open(ctx, rdb, nearcache.Config{
			Prefixes: []string{cacheCfg.KeyPrefix, promptcount.DefaultPrefix},
			Logger:   log, Metrics: registry,
		})
		if err != nil {
			level := slog.LevelWarn
			if cfg.EmbeddedRedis {
				level = slog.LevelInfo // the embedded Redis tracks no keys; expected
			}
			log.Log(ctx, level, "CACHE_NEAR: every read goes to Redis", "reason", err)
		}
		a.closers = append(a.closers, cacheCfg.Near.Close)
	}
	users := cache.New(rdb, guard, store, cacheCfg)
	locks := userlock.New(rdb, guard, userlock.Config{Logger: log, Metrics: registry})

	// With a custom domain the issuer is not the tenant: Auth0 serves the
	// signing keys under the issuer, the Management API under the tenant.
	verifier, err := auth.NewVerifier(ctx, auth.Config{
		Issuer:      issuer,
		Audience:    cfg.Audience,
		JWKSURL:     issuer + ".well-known/jwks.json",
		LoginsClaim: cfg.LoginsClaim,
		Metrics:     registry,
	})
	if err != nil {
		return a, err
	}

	a.ready = &readiness{
		redis: func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		auth0: store.CheckCredentials,
		keys:  verifier.KeysErr,
		log:   log,
	}
	registry.MustRegister(a.ready.degradedGauge())

	a.handler = telemetry.Middleware(newServer(serverDeps{
		cfg: cfg,
		log: log,
		service: profiling.NewService(a.rules, users, locks, time.Now).
			WithPromptCounter(promptcount.New(rdb, guard, cacheCfg.Near, "", log)).
			WithFunnel(funnel.New(registry)),
		rules:    a.rules,
		verifier: verifier,
		ready:    a.ready.status,
		metrics:  registry,
		devUsers: devPlaygroundUsers(a.emu),
		// Shared by every instance, so a hash registered on one runs on all.
		persistedQueries: apq.New(rdb, apq.Options{}),
	}), telemetry.HTTPOptions{
		Log: log, Tracing: tracing, Metrics: registry,
		UserID: cfg.AccessLogUserID, Operations: cfg.MetricOperations,
	})
	return a, nil
}

// serve listens, serves a's handler until ctx ends, then fails readiness,
// waits ShutdownDelay and drains.
func serve(ctx context.Context, cfg config, log *slog.Logger, a *app, stdout io.Writer, onListen func(listening)) error {
	handler, rules, emu, ready := a.handler, a.rules, a.emu, a.ready
	var addrs listening

	// /metrics and /debug/pprof on their own, internal listener.
	if cfg.MetricsAddr != "off" {
		internalLn, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("METRICS_ADDR: %w", err)
		}
		internal := &http.Server{
			Handler:           telemetry.InternalHandler(a.metrics),
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		go func() { _ = internal.Serve(internalLn) }()
		addrs.internal = internalLn.Addr()
		defer internal.Close()
		fmt.Fprintf(stdout, "metrics and pprof (internal) on http://%s/metrics\n", internalLn.Addr())
		log.Info("internal listener", "addr", internalLn.Addr().String(), "serves", "/metrics, /debug/pprof")
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddr, cfg.Port))
	if err != nil {
		return fmt.Errorf("BIND_ADDR, PORT: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	printBanner(stdout, cfg, ln.Addr(), rules, emu)
	if onListen != nil {
		addrs.public = ln.Addr()
		onListen(addrs)
	}
	log.Info("listening", "addr", ln.Addr().String(), "dev_mode", cfg.DevMode, "rules", rules.File(), "embedded_redis", cfg.EmbeddedRedis)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// Readiness fails first, so the load balancer stops sending before the
	// listener closes; requests that still arrive are served meanwhile.
	ready.shutDown()
	log.Info("shutting down", "drain_delay", cfg.ShutdownDelay.String())
	if cfg.ShutdownDelay > 0 {
		time.Sleep(cfg.ShutdownDelay)
	}
	shutdownCtx, cancelShutdown := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancelShutdown()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadRules reads the rules file named by PROFILING_RULES, or the built-in one.
func loadRules(path string) (*profiling.Rules, error) {
	name, data := "built-in rules (profiling/default_rules.yaml)", profiling.DefaultRules
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("PROFILING_RULES: %w", err)
		}
		name, data = path, b
	}
	return profiling.ParseRules(name, data, graphqlapi.ProfileInputSchema())
}

// newLogger is JSON in production and text in dev mode; every line logged
// with a request's context carries its request id and trace id.
func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	return telemetry.NewLogger(w, level, cfg.DevMode)
}
