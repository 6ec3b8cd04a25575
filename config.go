package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/progressive-profiling/bff/auth0store"
	"github.com/progressive-profiling/bff/cache"
	"github.com/progressive-profiling/bff/graphqlapi"
	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/redisconn"
	"github.com/progressive-profiling/bff/telemetry"
	"github.com/progressive-profiling/bff/userlock"
)

// config is the service's configuration, read from the environment.
type config struct {
	Port string
	// BindAddr is the host part of the listen address (BIND_ADDR): loopback
	// in dev mode, which serves /dev/tokens and a signed-in playground to
	// whoever can connect, and every interface ("") in production.
	BindAddr string
	// DevMode is on when AUTH0_DOMAIN is unset: an embedded Auth0 emulator
	// listens on DevAuth0Addr and plays the tenant.
	DevMode      bool
	DevAuth0Addr string
	// Auth0Domain is a tenant domain ("tenant.eu.auth0.com") or, for an
	// emulator on this machine, a loopback URL ("http://127.0.0.1:8081").
	Auth0Domain string
	// Issuer is the exact iss of user tokens (AUTH0_ISSUER), whose
	// /.well-known/jwks.json holds the signing keys. It differs from the
	// tenant with a custom domain (https://login.example.com/); default
	// the tenant's URL plus "/". Empty in dev mode: the emulator's.
	Issuer       string
	Audience     string
	ClientID     string
	ClientSecret string
	RedisURL     string
	// LoginsClaim names the access tokens' custom login-count claim
	// (AUTH0_LOGINS_CLAIM; see the README's post-login Action), "" for none.
	LoginsClaim string
	// EmbeddedRedis is on when REDIS_URL is unset: an in-process Redis of
	// this instance alone. Production needs REDIS_EMBEDDED=true for that,
	// because several instances would each have their own cache and write
	// lock and nothing would say so.
	EmbeddedRedis bool
	// ShutdownDelay is how long readiness reports shutting_down before the
	// server stops taking connections (SHUTDOWN_DELAY), so a load balancer
	// stops sending first. Default 5s in production, 0 in dev mode.
	ShutdownDelay time.Duration
	RulesPath     string
	CORSOrigins   []string
	Playground    bool
	Introspection bool
	LogLevel      string
	// GraphQL limits on one operation (see graphqlapi/limits.go); each a
	// positive integer, refused over the limit before any resolver runs:
	// GRAPHQL_MAX_DEPTH (default 8) levels of nested fields, fragments
	// expanded; GRAPHQL_MAX_ALIASES (default 10) aliased fields;
	// GRAPHQL_MAX_COMPLEXITY (default 200) gqlgen's cost, one per field;
	// GRAPHQL_MAX_TOKENS (default 1000) lexical tokens of the document.
	GraphQLMaxDepth      int
	GraphQLMaxAliases    int
	GraphQLMaxComplexity int
	GraphQLMaxTokens     int
	// TrustedDocuments is the manifest of GRAPHQL_TRUSTED_DOCUMENTS (nil
	// when unset); with GRAPHQL_TRUSTED_DOCUMENTS_ONLY (default true) only
	// its operations run. See graphqlapi/trusted.go.
	TrustedDocuments *graphqlapi.TrustedDocuments
	// MetricsAddr is the internal listener of /metrics and /debug/pprof
	// (METRICS_ADDR, host:port; default 127.0.0.1:9090): never the public
	// port. "off" serves neither.
	MetricsAddr string
	// AccessLogUserID is how the access log names the user (ACCESS_LOG_USER_ID:
	// hash, the default, or omit).
	AccessLogUserID telemetry.UserIDMode
	// MetricOperations is the allow-list of GraphQL operation names the
	// latency histogram labels (GRAPHQL_METRIC_OPERATIONS, comma-separated);
	// empty: the first telemetry.DefaultMaxOperations names seen.
	MetricOperations []string
	// Cache holds the CACHE_* settings (see cacheConfig); unset ones keep
	// the cache package's defaults.
	Cache cache.Config
	// NearCache (CACHE_NEAR, default true) answers hot Redis reads (cached
	// users, prompt counts) from process memory, invalidated by Redis
	// itself (package nearcache). It turns itself off where Redis cannot
	// track keys (see nearcache.Open); false always reads Redis.
	NearCache bool
}

// DefaultMetricsAddr is METRICS_ADDR's default: loopback, so /metrics and
// /debug/pprof are reachable from the host (a sidecar, a node agent) and
// never from the network unless an operator says so.
const DefaultMetricsAddr = "127.0.0.1:9090"

// loadConfig reads the environment through getenv and reports every problem
// at once, naming the variable.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Port:         envOr(getenv, "PORT", "8080"),
		Auth0Domain:  strings.TrimSpace(getenv("AUTH0_DOMAIN")),
		RedisURL:     getenv("REDIS_URL"),
		RulesPath:    getenv("PROFILING_RULES"),
		LoginsClaim:  strings.TrimSpace(getenv("AUTH0_LOGINS_CLAIM")),
		LogLevel:     envOr(getenv, "LOG_LEVEL", "info"),
		DevAuth0Addr: envOr(getenv, "DEV_AUTH0_ADDR", auth0emu.DefaultAddr),
	}
	c.DevMode = c.Auth0Domain == ""
	var problems []error
	if c.DevMode {
		// The dev tenant's values, which the embedded emulator (given the
		// same settings) and cmd/auth0emu default to as well.
		c.Audience = envOr(getenv, "AUTH0_AUDIENCE", auth0emu.DefaultAudience)
		c.ClientID = envOr(getenv, "AUTH0_CLIENT_ID", auth0emu.DefaultClientID)
		c.ClientSecret = envOr(getenv, "AUTH0_CLIENT_SECRET", auth0emu.DefaultClientSecret)
		// The React dev servers (Vite 5173, Create React App and Next.js
		// 3000), the same origins the emulator's Universal Login admits.
		c.CORSOrigins = slices.Clone(auth0emu.DevWebOrigins)
		c.EmbeddedRedis = c.RedisURL == ""
		if getenv("AUTH0_ISSUER") != "" {
			problems = append(problems, errors.New("AUTH0_ISSUER applies only with AUTH0_DOMAIN; dev mode's emulator is its own issuer"))
		}
	} else {
		c.Audience = getenv("AUTH0_AUDIENCE")
		c.ClientID = getenv("AUTH0_CLIENT_ID")
		c.ClientSecret = getenv("AUTH0_CLIENT_SECRET")
		for _, required := range []struct{ name, value string }{
			{"AUTH0_AUDIENCE", c.Audience}, {"AUTH0_CLIENT_ID", c.ClientID}, {"AUTH0_CLIENT_SECRET", c.ClientSecret},
		} {
			if required.value == "" {
				problems = append(problems, fmt.Errorf("%s is required when AUTH0_DOMAIN is set", required.name))
			}
		}
		tenant, err := auth0store.TenantURL(c.Auth0Domain)
		if err != nil {
			problems = append(problems, fmt.Errorf("AUTH0_DOMAIN: %w", err))
		}
		c.Issuer = tenant + "/"
		if v := strings.TrimSpace(getenv("AUTH0_ISSUER")); v != "" {
			if c.Issuer, err = parseIssuer(v); err != nil {
				problems = append(problems, err)
			}
		}
		embedded, err := envBool(getenv, "REDIS_EMBEDDED", false)
		switch {
		case err != nil:
			problems = append(problems, err)
		case c.RedisURL == "" && !embedded:
			problems = append(problems, errors.New("REDIS_URL is required when AUTH0_DOMAIN is set: instances share the cache and the write lock through it "+
				"(REDIS_EMBEDDED=true runs one instance on an in-process Redis instead)"))
		case c.RedisURL != "" && embedded:
			problems = append(problems, errors.New("REDIS_EMBEDDED=true and REDIS_URL both set; choose one"))
		}
		c.EmbeddedRedis = c.RedisURL == "" && embedded
	}
	if near, err := envBool(getenv, "CACHE_NEAR", true); err != nil {
		problems = append(problems, err)
	} else {
		c.NearCache = near
	}
	c.BindAddr = "" // every interface
	if c.DevMode {
		c.BindAddr = "127.0.0.1"
	}
	if v := strings.TrimSpace(getenv("BIND_ADDR")); v != "" {
		host := strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
		if net.ParseIP(host) == nil && host != "localhost" {
			problems = append(problems, fmt.Errorf("BIND_ADDR: %q is not an IP address (127.0.0.1, 0.0.0.0, ::1, ...) or localhost; the port is PORT", v))
		}
		c.BindAddr = host
	}
	shutdownDelay := 5 * time.Second
	if c.DevMode {
		shutdownDelay = 0
	}
	if v := strings.TrimSpace(getenv("SHUTDOWN_DELAY")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			problems = append(problems, fmt.Errorf("SHUTDOWN_DELAY: %q is not a duration from 0 to 1m, like 5s", v))
		}
		shutdownDelay = d
	}
	c.ShutdownDelay = shutdownDelay
	if origins := getenv("CORS_ALLOWED_ORIGINS"); origins != "" {
		c.CORSOrigins = nil
		for _, o := range strings.Split(origins, ",") {
			o = strings.TrimRight(strings.TrimSpace(o), "/")
			if o == "" {
				continue
			}
			if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
				problems = append(problems, fmt.Errorf("CORS_ALLOWED_ORIGINS: %q is not an origin like https://app.example.com", o))
				continue
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	var err error
	if c.Playground, err = envBool(getenv, "PLAYGROUND", c.DevMode); err != nil {
		problems = append(problems, err)
	}
	if c.Introspection, err = envBool(getenv, "INTROSPECTION", c.DevMode); err != nil {
		problems = append(problems, err)
	}
	for _, limit := range []struct {
		name     string
		into     *int
		fallback int
	}{
		{"GRAPHQL_MAX_DEPTH", &c.GraphQLMaxDepth, graphqlapi.DefaultMaxDepth},
		{"GRAPHQL_MAX_ALIASES", &c.GraphQLMaxAliases, graphqlapi.DefaultMaxAliases},
		{"GRAPHQL_MAX_COMPLEXITY", &c.GraphQLMaxComplexity, graphqlapi.DefaultComplexityLimit},
		{"GRAPHQL_MAX_TOKENS", &c.GraphQLMaxTokens, graphqlapi.DefaultParserTokenLimit},
	} {
		if *limit.into, err = envPositiveInt(getenv, limit.name, limit.fallback); err != nil {
			problems = append(problems, err)
		}
	}
	if path := strings.TrimSpace(getenv("GRAPHQL_TRUSTED_DOCUMENTS")); path != "" {
		td, err := graphqlapi.LoadTrustedDocuments(path)
		if err != nil {
			problems = append(problems, fmt.Errorf("GRAPHQL_TRUSTED_DOCUMENTS: %w", err))
		} else if td.Only, err = envBool(getenv, "GRAPHQL_TRUSTED_DOCUMENTS_ONLY", true); err != nil {
			problems = append(problems, err)
		} else {
			c.TrustedDocuments = td
		}
	} else if getenv("GRAPHQL_TRUSTED_DOCUMENTS_ONLY") != "" {
		problems = append(problems, errors.New("GRAPHQL_TRUSTED_DOCUMENTS_ONLY applies only with GRAPHQL_TRUSTED_DOCUMENTS, the manifest's path"))
	}
	if c.Cache, err = cacheConfig(getenv); err != nil {
		problems = append(problems, err)
	}
	c.Cache = c.Cache.WithDefaults()
	// The write lock must outlive the longest write it guards: the read
	// under it (up to the upstream wait) and the PATCH (up to the Management
	// API timeout). Otherwise a slow write's lock expires under it and a
	// second writer's bookkeeping can be lost.
	if budget := c.Cache.UpstreamWait + auth0store.DefaultTimeout; budget >= userlock.DefaultTTL {
		problems = append(problems, fmt.Errorf("CACHE_UPSTREAM_WAIT: %v plus the Management API timeout (%v) must stay under the write lock's expiry (%v)",
			c.Cache.UpstreamWait, auth0store.DefaultTimeout, userlock.DefaultTTL))
	}
	if p, err := strconv.Atoi(c.Port); err != nil || p < 0 || p > 65535 {
		problems = append(problems, fmt.Errorf("PORT: %q is not a port number", c.Port))
	}
	if _, _, err := net.SplitHostPort(c.DevAuth0Addr); c.DevMode && err != nil {
		problems = append(problems, fmt.Errorf("DEV_AUTH0_ADDR: %q is not host:port", c.DevAuth0Addr))
	}
	c.MetricsAddr = envOr(getenv, "METRICS_ADDR", DefaultMetricsAddr)
	if _, _, err := net.SplitHostPort(c.MetricsAddr); c.MetricsAddr != "off" && err != nil {
		problems = append(problems, fmt.Errorf("METRICS_ADDR: %q is not host:port (e.g. 127.0.0.1:9090) or off", c.MetricsAddr))
	}
	if c.AccessLogUserID, err = telemetry.ParseUserIDMode(strings.TrimSpace(getenv("ACCESS_LOG_USER_ID"))); err != nil {
		problems = append(problems, fmt.Errorf("ACCESS_LOG_USER_ID: %q is not hash or omit", getenv("ACCESS_LOG_USER_ID")))
	}
	for _, name := range strings.Split(getenv("GRAPHQL_METRIC_OPERATIONS"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			c.MetricOperations = append(c.MetricOperations, name)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel))
	}
	return c, errors.Join(problems...)
}

// parseIssuer checks AUTH0_ISSUER: the exact iss Auth0 writes, an https
// URL (http only on loopback, for an emulator) with no path, ending in "/".
func parseIssuer(v string) (string, error) {
	base, err := auth0store.TenantURL(strings.TrimSuffix(v, "/"))
	if err != nil || !strings.HasSuffix(v, "/") || !strings.Contains(v, "://") || base+"/" != v {
		return "", fmt.Errorf("AUTH0_ISSUER: %q is not an issuer like https://login.example.com/ (https, or http on loopback; no path; ending in /)", v)
	}
	return v, nil
}

// cacheConfig reads the cache's settings from the environment; unset
// variables keep the cache package's defaults.
//
//	CACHE_TTL            how long a cached user is fresh (default 10m)
//	CACHE_STALE_MAX      how long past that a user may still be served, flagged
//	                     stale, while Auth0 is unavailable (default 1h; 0 = never)
//	CACHE_NEGATIVE_TTL   how long a missing user is remembered (default 30s; 0 = not at all)
//	CACHE_UPSTREAM_WAIT  the longest a request waits for Auth0 before it is
//	                     answered stale or UPSTREAM_UNAVAILABLE (default 2s)
func cacheConfig(getenv func(string) string) (cache.Config, error) {
	var c cache.Config
	var problems []error
	duration := func(name string, dst *time.Duration, zeroMeansOff bool) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		switch {
		case err != nil || d < 0:
			problems = append(problems, fmt.Errorf("%s: %q is not a duration like 30s or 10m", name, v))
		case d == 0 && !zeroMeansOff, d > 0 && d < time.Millisecond:
			problems = append(problems, fmt.Errorf("%s: %q must be at least 1ms", name, v))
		case d == 0:
			*dst = -1 // the cache's "off"
		default:
			*dst = d
		}
	}
	duration("CACHE_TTL", &c.TTL, false)
	duration("CACHE_STALE_MAX", &c.MaxStale, true)
	duration("CACHE_NEGATIVE_TTL", &c.NegativeTTL, true)
	duration("CACHE_UPSTREAM_WAIT", &c.UpstreamWait, false)
	return c, errors.Join(problems...)
}

func envOr(getenv func(string) string, name, fallback string) string {
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return v
	}
	return fallback
}

func envPositiveInt(getenv func(string) string, name string, fallback int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return fallback, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s: %q is not a positive whole number", name, v)
	}
	return n, nil
}

func envBool(getenv func(string) string, name string, fallback bool) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return fallback, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not true or false", name, v)
	}
	return b, nil
}

// LogValue is the effective configuration as start-up logs it: every
// setting after defaults, with the client secret and any password in
// REDIS_URL masked.
func (c config) LogValue() slog.Value {
	redisURL := c.RedisURL
	if u, err := url.Parse(redisURL); err == nil && u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			redisURL = u.String()
		}
	}
	secret := ""
	if c.ClientSecret != "" {
		secret = "(set, masked)"
	}
	return slog.GroupValue(
		slog.Bool("dev_mode", c.DevMode),
		slog.String("bind_addr", c.BindAddr), slog.String("port", c.Port),
		slog.String("auth0_domain", c.Auth0Domain), slog.String("auth0_issuer", c.Issuer),
		slog.String("auth0_audience", c.Audience), slog.String("auth0_client_id", c.ClientID),
		slog.String("auth0_client_secret", secret), slog.String("auth0_logins_claim", c.LoginsClaim),
		slog.String("redis_url", redisURL), slog.Bool("redis_embedded", c.EmbeddedRedis),
		slog.String("rules", c.RulesPath), slog.Any("cors_allowed_origins", c.CORSOrigins),
		slog.Bool("playground", c.Playground), slog.Bool("introspection", c.Introspection),
		slog.String("log_level", c.LogLevel), slog.Duration("shutdown_delay", c.ShutdownDelay),
		slog.Int("graphql_max_depth", c.GraphQLMaxDepth), slog.Int("graphql_max_aliases", c.GraphQLMaxAliases),
		slog.Int("graphql_max_complexity", c.GraphQLMaxComplexity), slog.Int("graphql_max_tokens", c.GraphQLMaxTokens),
		slog.String("graphql_trusted_documents", trustedDocumentsLog(c.TrustedDocuments)),
		slog.Duration("cache_ttl", c.Cache.TTL), slog.Duration("cache_stale_max", c.Cache.MaxStale),
		slog.Duration("cache_negative_ttl", c.Cache.NegativeTTL), slog.Duration("cache_upstream_wait", c.Cache.UpstreamWait),
		slog.Int("cache_local_copies", c.Cache.LocalCopies), slog.Bool("cache_near", c.NearCache),
		slog.Duration("lock_ttl", userlock.DefaultTTL), slog.Duration("lock_wait", userlock.DefaultWait),
		slog.Duration("redis_timeout", redisconn.DefaultTimeout),
		slog.String("metrics_addr", c.MetricsAddr), slog.String("access_log_user_id", string(c.AccessLogUserID)),
		slog.Any("graphql_metric_operations", c.MetricOperations),
	)
}

// trustedDocumentsLog describes the trusted-documents setting for the
// start-up log line.
func trustedDocumentsLog(td *graphqlapi.TrustedDocuments) string {
	switch {
	case td == nil:
		return ""
	case td.Only:
		return fmt.Sprintf("%s (%d documents, only these run)", td.File(), td.Len())
	default:
		return fmt.Sprintf("%s (%d documents, others run too)", td.File(), td.Len())
	}
}
