// Package auth0store implements profiling.UserStore on the Auth0 Management
// API with github.com/auth0/go-auth0's management client.
//
// Every call has a deadline (Config.Timeout) that also bounds the
// client-credentials token fetch, retries are bounded (Config.MaxRetries on
// 5xx, each attempt bounded too; a 429 is never retried but recorded in the
// Budget until its reset, so no instance calls before it), and the SDK's
// structs never leave this
// package: each answer is converted to a profiling.User at the boundary. A
// PATCH carries only the metadata keys of the profiling.Patch; there is no
// way to send a root attribute.
//
// Errors are *Error: their message is generic and safe to show a client;
// the upstream detail (status, URL, cause) is for logs (LogValue) and for
// errors.Is/As through Unwrap. They wrap profiling.ErrUserNotFound or
// profiling.ErrUpstreamUnavailable where those apply.
//
// The Management API token (client credentials) is cached until it expires,
// but Auth0 stops accepting it early when it revokes the key that signed it,
// rotates the client secret or changes the grant. A 401 from the Management
// API therefore makes the Store build a new management client (and so a new
// token source), at most once per Config.ReauthInterval, and repeat the call
// once within the same deadline. When Auth0 refuses the credentials
// themselves, the error wraps ErrCredentialsRefused, and after a refusal by
// the token endpoint calls fail fast for ReauthInterval instead of asking
// for a token each time.
//
// Point it at the emulator with a full loopback URL such as
// "http://127.0.0.1:8081": the store then uses the SDK's own
// management.WithInsecure option (before WithClientCredentials, whose token
// URL it changes), not a fork or a hand-written client.
package auth0store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auth0/go-auth0/management"
	"github.com/panjf2000/ants/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/ratelimit"
)

// Config configures a Store.
type Config struct {
	// Domain is the tenant, "tenant.eu.auth0.com" or "https://tenant...",
	// or a full "http://127.0.0.1:8081" URL for the emulator. Plain http
	// is allowed only for loopback hosts.
	Domain string
	// ClientID and ClientSecret are the Management API client credentials.
	ClientID, ClientSecret string
	// Timeout is the deadline of every call, the token fetch included.
	// Default 5s.
	Timeout time.Duration
	// MaxRetries bounds the retries on 429 and 5xx (and transport errors).
	// Default 1; negative means none.
	MaxRetries int
	// AttemptTimeout bounds each attempt, so a hung first attempt leaves
	// time for a retry. Default Timeout/(retries+1).
	AttemptTimeout time.Duration
	// HTTPClient is used for every request; its Transport also carries the
	// token fetch. Default: a client with Timeout.
	HTTPClient *http.Client
	// ReauthInterval is the least time between two token fetches forced by
	// Auth0 refusing our token or credentials: a Management API 401 rebuilds
	// the client at most this often, and after the token endpoint refuses
	// the client credentials, calls fail fast for this long. Default 10s.
	ReauthInterval time.Duration
	// Budget remembers a 429's reset so no call is made before it; share
	// one across instances (ratelimit.Redis). Default: this Store's own
	// memo.
	Budget Budget
	// Logger receives Management API failures, once per cause per minute.
	// Default: none logged.
	Logger *slog.Logger
	// Metrics receives the bff_auth0_* metrics; nil registers nothing.
	Metrics prometheus.Registerer
}

// DefaultTimeout is Config.Timeout's default: the longest one Management
// API call (retries included) may take.
const DefaultTimeout = 5 * time.Second

const (
	defaultMaxRetries     = 1
	defaultReauthInterval = 10 * time.Second
)

// retryStatuses are the answers worth a bounded retry: a transient
// upstream failure. PATCH is safe to repeat: the same metadata merge gives
// the same result. A 429 is not among them: the tenant is out of budget
// until its reset, which the Budget records, and retrying before it only
// spends more.
var retryStatuses = []int{
	http.StatusInternalServerError, http.StatusBadGateway,
	http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// Store is a profiling.UserStore on the Auth0 Management API. It is safe
// for concurrent use.
type Store struct {
	// m is swapped for a freshly built client when Auth0 refuses its token.
	m       atomic.Pointer[management.Management]
	build   func() (*management.Management, error)
	timeout time.Duration

	// tokens fetches a Management API token as the SDK's token source
	// does, for CheckCredentials.
	tokens *clientcredentials.Config
	// tokenClient carries CheckCredentials' fetch (Config.HTTPClient's
	// transport, Config.Timeout).
	tokenClient *http.Client

	reauthEvery time.Duration
	now         func() time.Time // time.Now; tests move it
	budget      Budget
	metrics     *storeMetrics
	failures    *failureLog

	renewMu   sync.Mutex
	renewedAt time.Time // guarded by renewMu

	refusedMu sync.Mutex
	refusedAt time.Time // when the token endpoint last refused us; guarded by refusedMu
}

var _ profiling.UserStore = (*Store)(nil)

// New builds a Store. It does not contact Auth0: the first call fetches the
// Management API token. ctx supplies values for the token fetch for the
// Store's whole life; its cancellation is ignored, so a request context is
// fine here.
func New(ctx context.Context, cfg Config) (*Store, error) {
	host, insecure, err := parseDomain(cfg.Domain)
	if err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, errors.New("auth0store: ClientID is empty; set the Management API client id")
	}
	if cfg.ClientSecret == "" {
		return nil, errors.New("auth0store: ClientSecret is empty; set the Management API client secret")
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("auth0store: Timeout must not be negative, got %s", cfg.Timeout)
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = defaultMaxRetries
	}
	switch {
	case cfg.AttemptTimeout < 0:
		return nil, fmt.Errorf("auth0store: AttemptTimeout must not be negative, got %s", cfg.AttemptTimeout)
	case cfg.AttemptTimeout == 0:
		cfg.AttemptTimeout = cfg.Timeout / time.Duration(cfg.MaxRetries+1)
	}
	switch {
	case cfg.ReauthInterval < 0:
		return nil, fmt.Errorf("auth0store: ReauthInterval must not be negative, got %s", cfg.ReauthInterval)
	case cfg.ReauthInterval == 0:
		cfg.ReauthInterval = defaultReauthInterval
	}
	s := &Store{timeout: cfg.Timeout, reauthEvery: cfg.ReauthInterval, now: time.Now, budget: cfg.Budget}
	if s.budget == nil {
		s.budget = &ratelimit.Memo{}
	}
	if s.metrics, err = newStoreMetrics(cfg.Metrics); err != nil {
		return nil, err
	}
	s.failures = &failureLog{log: cfg.Logger, interval: time.Minute, causes: map[string]*failureCause{}}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: cfg.Timeout, Transport: NewTransport()}
	}
	apiClient := *httpClient
	apiClient.Transport = &budgetWatch{base: httpClient.Transport, store: s}
	if apiClient.Timeout >= cfg.Timeout {
		// Every call's context ends at Config.Timeout, which bounds each
		// request with its retries; a client Timeout no shorter only added
		// a timer and a body wrapper to every request (4% of a read's
		// instructions). The token fetch keeps it: it ignores contexts.
		apiClient.Timeout = 0
	}
	// The token source keeps this context for its whole life and fetches
	// tokens with the *http.Client it carries (golang.org/x/oauth2's
	// HTTPClient key); oauth2.Transport gives the fetch no request context,
	// so this client's Timeout is what bounds it. The gate stops token
	// requests for a while after the token endpoint refused our client.
	tokenCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient,
		&http.Client{Timeout: cfg.Timeout, Transport: &tokenGate{base: httpClient.Transport, store: s}})

	var opts []management.Option
	if insecure {
		// Must precede WithClientCredentials: it switches the URL to http,
		// which the token source then copies, and it replaces the token
		// source with a static one.
		opts = append(opts, management.WithInsecure())
	}
	opts = append(opts,
		management.WithClientCredentials(tokenCtx, cfg.ClientID, cfg.ClientSecret),
		management.WithClient(&apiClient),
		management.WithRetryStrategy(management.RetryStrategy{
			MaxRetries:        cfg.MaxRetries,
			Statuses:          retryStatuses,
			PerAttemptTimeout: cfg.AttemptTimeout,
		}),
	)
	// Each build has its own token source (golang.org/x/oauth2's
	// ReuseTokenSource, which the SDK neither exposes nor lets us expire),
	// so a rebuilt client fetches a fresh token on its first call.
	s.build = func() (*management.Management, error) { return management.New(host, opts...) }
	scheme := "https://"
	if insecure {
		scheme = "http://"
	}
	s.tokens = &clientcredentials.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		TokenURL:       scheme + host + "/oauth/token",
		EndpointParams: url.Values{"audience": {scheme + host + "/api/v2/"}},
	}
	s.tokenClient = &http.Client{Timeout: cfg.Timeout, Transport: httpClient.Transport}
	m, err := s.build()
	if err != nil {
		return nil, fmt.Errorf("auth0store: %w", err)
	}
	s.m.Store(m)
	return s, nil
}

// parseDomain returns the host[:port] go-auth0 wants and whether the
// tenant speaks plain http (a loopback emulator only).
// TenantURL returns the tenant's base URL for a Domain as Config takes it:
// "https://tenant.eu.auth0.com", or "http://127.0.0.1:8081" for a loopback
// emulator. The issuer and the JWKS address are built from it.
func TenantURL(domain string) (string, error) {
	host, insecure, err := parseDomain(domain)
	if err != nil {
		return "", err
	}
	if insecure {
		return "http://" + host, nil
	}
	return "https://" + host, nil
}

func parseDomain(domain string) (host string, insecure bool, err error) {
	raw := strings.TrimSpace(domain)
	if raw == "" {
		return "", false, errors.New("auth0store: Domain is empty; set the tenant domain, e.g. tenant.eu.auth0.com")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", false, fmt.Errorf("auth0store: Domain %q is not a tenant domain like tenant.eu.auth0.com or http://127.0.0.1:8081", domain)
	}
	switch u.Scheme {
	case "https":
		return u.Host, false, nil
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", false, fmt.Errorf("auth0store: Domain %q uses plain http, which is allowed only for a loopback emulator; use https", domain)
		}
		return u.Host, true, nil
	default:
		return "", false, fmt.Errorf("auth0store: Domain %q has scheme %q; use https (or http for a loopback emulator)", domain, u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// User reads the user with the given id. Every read asks Auth0, so it
// meets any profiling.Read and is never stale.
func (s *Store) User(ctx context.Context, id string, _ profiling.Read) (*profiling.User, profiling.ReadInfo, error) {
	u, err := s.read(ctx, id)
	return u, profiling.ReadInfo{}, err
}

func (s *Store) read(ctx context.Context, id string) (*profiling.User, error) {
	if id == "" {
		return nil, &Error{Op: "read user", kind: profiling.ErrUserNotFound, cause: errors.New("empty user id")}
	}
	return s.call(ctx, "read user", id, func(ctx context.Context, m *management.Management) (*auth0User, error) {
		u := &auth0User{}
		if err := m.Request(ctx, http.MethodGet, m.URI("users", id), u); err != nil {
			return nil, err
		}
		return u, nil
	})
}

// UpdateUser sends p as one PATCH (only its metadata keys; nil deletes a
// key) and returns the user Auth0 answers with. An empty patch reads the
// user instead.
func (s *Store) UpdateUser(ctx context.Context, id string, p profiling.Patch) (*profiling.User, error) {
	if id == "" {
		return nil, &Error{Op: "update user", kind: profiling.ErrUserNotFound, cause: errors.New("empty user id")}
	}
	if p.IsEmpty() {
		return s.read(ctx, id)
	}
	for name, meta := range map[string]map[string]any{"user_metadata": p.UserMetadata, "app_metadata": p.AppMetadata} {
		for k := range meta {
			if k == "" || strings.ContainsAny(k, ".$") {
				return nil, &Error{Op: "update user", kind: ErrInvalidPatch, msg: fmt.Sprintf("auth0store: %s key %q is invalid: keys must be non-empty without \".\" or \"$\"", name, k)}
			}
		}
	}
	return s.call(ctx, "update user", id, func(ctx context.Context, m *management.Management) (*auth0User, error) {
		body := map[string]any{}
		if len(p.UserMetadata) > 0 {
			body["user_metadata"] = p.UserMetadata
		}
		if len(p.AppMetadata) > 0 {
			body["app_metadata"] = p.AppMetadata
		}
		x := &exchange{send: body, answer: &auth0User{}}
		if err := m.Request(ctx, http.MethodPatch, m.URI("users", id), x); err != nil {
			return nil, err
		}
		return x.answer, nil
	})
}

// call runs one SDK call under the Store's deadline on a goroutine of its
// own (one of sdkWorkers'), so the caller gets its answer at the deadline
// even while the token fetch (which ignores request contexts) is still
// running, and so a panic in the SDK's JSON decoding (it panics on e.g.
// email_verified of the wrong type) becomes an error. The SDK struct is
// converted there and never escapes. A 401 is answered by one repeat with a
// fresh token (see renew), within the same deadline: fn must build its
// request anew each time.
func (s *Store) call(ctx context.Context, op, id string, fn func(context.Context, *management.Management) (*auth0User, error)) (*profiling.User, error) {
	if s.refusedRecently() {
		return nil, &Error{Op: op, kind: profiling.ErrUpstreamUnavailable, refused: true, notSent: true, cause: errTokenGateClosed}
	}
	// A Budget that cannot tell answers what it knows locally.
	if until, _ := s.budget.Until(ctx); until.After(s.now()) {
		return nil, &Error{Op: op, kind: profiling.ErrUpstreamUnavailable, notSent: true, limitedUntil: until, cause: ErrRateLimited}
	}
	ctx, cancel := context.WithTimeout(withCall(ctx), s.timeout)
	defer cancel()
	type result struct {
		user      *profiling.User
		err       error
		refreshed bool
	}
	done := make(chan result, 1)
	work := func() {
		refreshed := false
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("go-auth0 panicked decoding the answer: %v", p), refreshed: refreshed}
			}
		}()
		m := s.m.Load()
		u, err := fn(ctx, m)
		if statusOf(err) == http.StatusUnauthorized {
			if fresh := s.renew(m); fresh != nil {
				refreshed = true
				u, err = fn(ctx, fresh)
			}
		}
		if err != nil {
			done <- result{err: err, refreshed: refreshed}
			return
		}
		if u == nil || u.GetID() != id {
			done <- result{err: fmt.Errorf("the answer is not user %q (got %q)", id, u.GetID())}
			return
		}
		done <- result{user: toDomain(u)}
	}
	if sdkWorkers().Submit(work) != nil {
		go work() // the pool is never released; this is only in case
	}
	select {
	case r := <-done:
		if r.err != nil {
			e := classify(op, r.err)
			e.refreshed = r.refreshed
			if tokenEndpointRefused(r.err) {
				s.markRefused()
			}
			return nil, e
		}
		return r.user, nil
	case <-ctx.Done():
		return nil, classify(op, ctx.Err())
	}
}

// sdkWorkers run the Store calls' SDK work (see call) on goroutines kept
// from earlier calls, as many as run at once, each until it has been idle
// for a minute. A fresh goroutine per call grew its stack through the
// SDK's transports and JSON decoding on every call: 18% of the
// instructions of a user read, 5% of a whole cold-cache request.
var sdkWorkers = sync.OnceValue(func() *ants.Pool {
	p, err := ants.NewPool(-1, ants.WithExpiryDuration(time.Minute)) // -1: no limit, Submit never waits
	if err != nil {
		panic("auth0store: " + err.Error()) // only for invalid options
	}
	return p
})

// NewTransport is the HTTP transport for the Management API: the default
// one, with idle connections kept for as many concurrent calls as a busy
// instance makes to its one tenant host. http.DefaultTransport keeps two
// per host, so under concurrency most calls would open a new connection,
// each a TLS handshake against a real tenant. HTTP/2 is used where the
// tenant offers it.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = true
	return t
}
