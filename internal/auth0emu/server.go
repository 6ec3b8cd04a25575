package auth0emu

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// The dev tenant: the one set of defaults the service's dev mode
// (config.go), its embedded emulator and cmd/auth0emu all use, so a service
// and an emulator started with nothing configured agree, and the README's
// commands work against either.
const (
	DefaultAudience     = "https://profiling-bff.local/api"
	DefaultClientID     = "dev-client"
	DefaultClientSecret = "dev-secret"
	// DefaultAddr is where dev mode's emulator and cmd/auth0emu listen:
	// loopback, because the emulator hands out tokens to anyone who asks.
	DefaultAddr      = "127.0.0.1:8081"
	DefaultTokenTTL  = 24 * time.Hour
	DefaultRateLimit = 16
	DefaultRateBurst = 50

	// DatabaseConnection is the connection of Auth0's default database.
	DatabaseConnection = "Username-Password-Authentication"

	// managementScopes are the scopes the pre-registered client is granted
	// on the Management API.
	managementScopes = "read:users update:users create:users"

	maxBodyBytes = 1 << 20
)

// RatePreset is the Management API limit of one kind of Auth0 tenant.
type RatePreset struct {
	Name  string
	Limit float64 // sustained requests per second
	Burst int
	About string
}

// RatePresets are Auth0's published Management API limits per tenant type.
// Auth0 publishes no burst for non-production tenants, only "under 1
// request per second"; dev's burst is chosen so a developer's first clicks
// pass and a loop is throttled.
var RatePresets = []RatePreset{
	{"free", 2, 2, "a Free tenant: burst 2, 2 requests/s sustained"},
	{"dev", 0.5, 5, "a non-production tenant: under 1 request/s (0.5/s, burst 5)"},
	{"paid", DefaultRateLimit, DefaultRateBurst, "a paid production tenant: 16 requests/s sustained, burst 50 (the default)"},
}

// LookupRatePreset returns the preset called name.
func LookupRatePreset(name string) (RatePreset, error) {
	var names []string
	for _, p := range RatePresets {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return RatePreset{}, fmt.Errorf("auth0emu: rate preset %q is unknown; use one of %s", name, strings.Join(names, ", "))
}

// Config configures a Server. Zero values take the documented defaults.
type Config struct {
	// APIScopes are the permissions the pre-registered client is granted on
	// the API (Config.Audience) with the client-credentials grant, as an
	// API's permissions granted to a machine-to-machine application on a
	// real tenant. Default DefaultAPIScopes.
	APIScopes []string
	// LoginsCountClaim, when set, adds the user's logins_count to every user
	// access token under this claim name, as a post-login Action calling
	// api.accessToken.setCustomClaim(name, event.stats.logins_count) does
	// on a real tenant. Default: no such claim.
	LoginsCountClaim string
	// Audience is the API identifier of user access tokens (the service's
	// AUTH0_AUDIENCE) and the tenant's default audience.
	// Default DefaultAudience.
	Audience string
	// ClientID and ClientSecret identify the one pre-registered client: it
	// holds the Management API grant (client credentials) and is the
	// client_id the password grants accept. Defaults DefaultClientID and
	// DefaultClientSecret.
	ClientID     string
	ClientSecret string
	// TokenTTL is the lifetime of every issued token. Default 24h.
	TokenTTL time.Duration
	// RateLimit is the token-bucket refill per second for /api/v2. Default
	// 16 (a paid tenant's sustained rate); negative disables limiting.
	RateLimit float64
	// RateBurst is the bucket size. Default 50.
	RateBurst int
	// RatePreset names a tenant type's limits (see RatePresets: "free",
	// "dev", "paid"); RateLimit and RateBurst left zero take its values.
	RatePreset string
	// Now is the clock for tokens, dates and the rate limiter. Default
	// time.Now.
	Now func() time.Time
	// Logf, when set, receives one line per request and per admin action.
	Logf func(format string, args ...any)
	// PublicURL is the base URL clients use to reach the emulator, e.g.
	// behind a proxy or on a LAN address. Listen derives it from the bound
	// address when empty; set it when serving Handler yourself.
	PublicURL string
	// CustomDomainIssuer, when set, is the iss of user access and ID tokens,
	// as on a tenant with a custom domain ("https://login.example.com/"):
	// there Auth0 writes the custom domain into the tokens users get, while
	// the Management API, and its tokens' iss, stay on the tenant's own
	// domain (Issuer). The emulator serves both from URL(); point the
	// custom domain at it (a loopback name such as http://localhost:PORT/
	// does) for the JWKS under the issuer to be reachable.
	CustomDomainIssuer string
	// CallbackURLs are the client's allowed callback URLs: /authorize
	// redirects only to a redirect_uri equal to one of them, character for
	// character, as Auth0 checks them. Default DevCallbackURLs.
	CallbackURLs []string
	// LogoutURLs are the URLs /v2/logout may send the browser back to
	// (returnTo). Default DevCallbackURLs.
	LogoutURLs []string
	// WebOrigins are the origins browser apps call /oauth/token and
	// /userinfo from (CORS) and receive silent-authentication answers on
	// (response_mode=web_message). Default DevWebOrigins.
	WebOrigins []string
	// SigningKey, when set, is the first signing key instead of a fresh
	// RSA-2048 one. Its kid derives from the key, so tokens survive a
	// restart with the same key; tests share one to skip key generation.
	SigningKey *rsa.PrivateKey
}

// Server is an in-memory Auth0 tenant. All methods are safe for concurrent
// use.
type Server struct {
	// connections counts the TCP connections clients opened (Listen only),
	// so tests can see whether a client reuses its connections.
	connections atomic.Int64
	cfg         Config
	limiter     *rate.Limiter

	baseMu  sync.RWMutex
	baseURL string

	keyMu sync.RWMutex
	keys  []*signingKey // served keys; the last one signs

	verified *lru.Cache[string, verifiedToken] // see verify

	mu     sync.Mutex // guards users and emails
	users  map[string]*userRecord
	emails map[string]string // connection + "\x00" + email → user id

	auth *authState // Universal Login: sessions, transactions, codes, refresh tokens

	obsMu   sync.Mutex // guards counts, patches, faults and release
	counts  map[Route]int
	patches []RecordedPatch
	faults  map[Route]*activeFault
	release chan struct{} // closed by ClearFaults: ends hangs and holds
	traces  traceLog      // traceparent headers received; see traces.go

	closed    chan struct{}
	closeOnce sync.Once
	http      *http.Server
	serveDone chan struct{}
}

// New returns a Server that is not listening yet, with a fresh RSA-2048
// signing key (or Config.SigningKey). Serve Handler yourself (then set Config.PublicURL) or use
// Listen.
func New(cfg Config) (*Server, error) {
	if cfg.APIScopes == nil {
		cfg.APIScopes = DefaultAPIScopes
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DefaultClientSecret
	}
	switch {
	case cfg.TokenTTL < 0:
		return nil, fmt.Errorf("auth0emu: TokenTTL must not be negative, got %s", cfg.TokenTTL)
	case cfg.TokenTTL == 0:
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.RatePreset != "" {
		p, err := LookupRatePreset(cfg.RatePreset)
		if err != nil {
			return nil, err
		}
		if cfg.RateLimit == 0 {
			cfg.RateLimit = p.Limit
		}
		if cfg.RateBurst == 0 {
			cfg.RateBurst = p.Burst
		}
	}
	switch {
	case math.IsNaN(cfg.RateLimit) || math.IsInf(cfg.RateLimit, 0):
		return nil, fmt.Errorf("auth0emu: RateLimit must be a finite number, got %v", cfg.RateLimit)
	case cfg.RateLimit == 0:
		cfg.RateLimit = DefaultRateLimit
	}
	switch {
	case cfg.RateBurst < 0:
		return nil, fmt.Errorf("auth0emu: RateBurst must not be negative, got %d", cfg.RateBurst)
	case cfg.RateBurst == 0:
		cfg.RateBurst = DefaultRateBurst
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if iss := cfg.CustomDomainIssuer; iss != "" {
		if u, err := url.Parse(iss); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(iss, "/") {
			return nil, fmt.Errorf("auth0emu: CustomDomainIssuer must be an absolute http(s) URL ending in /, got %q", iss)
		}
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.WebOrigins == nil {
		cfg.WebOrigins = DevWebOrigins
	}
	if cfg.CallbackURLs == nil {
		cfg.CallbackURLs = RootURLs(cfg.WebOrigins)
	}
	if cfg.LogoutURLs == nil {
		cfg.LogoutURLs = RootURLs(cfg.WebOrigins)
	}
	if err := checkURLs(cfg.CallbackURLs, cfg.LogoutURLs, cfg.WebOrigins); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		users:   map[string]*userRecord{},
		emails:  map[string]string{},
		counts:  map[Route]int{},
		faults:  map[Route]*activeFault{},
		release: make(chan struct{}),
		closed:  make(chan struct{}),
		auth:    newAuthState(),

		verified: newVerifiedTokens(),
	}
	limit := rate.Limit(cfg.RateLimit)
	if cfg.RateLimit < 0 {
		limit = rate.Inf
	}
	s.limiter = rate.NewLimiter(limit, cfg.RateBurst)
	if cfg.PublicURL != "" {
		if err := s.setBaseURL(cfg.PublicURL); err != nil {
			return nil, err
		}
	}
	if _, err := s.addKey(cfg.SigningKey); err != nil {
		return nil, err
	}
	return s, nil
}

// Listen starts a Server on addr ("127.0.0.1:0" picks a free port) and
// serves it in the background until Close. Unless Config.PublicURL is set,
// the base URL is http://<bound address>, with a wildcard host replaced by
// 127.0.0.1.
func Listen(addr string, cfg Config) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &ListenError{Addr: addr, Err: err}
	}
	if cfg.PublicURL == "" {
		if err := s.setBaseURL("http://" + reachableAddr(ln.Addr())); err != nil {
			ln.Close()
			return nil, err
		}
	}
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				s.connections.Add(1)
			}
		},
	}
	s.serveDone = make(chan struct{})
	go func() {
		defer close(s.serveDone)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logf("auth0emu: serve: %v", err)
		}
	}()
	return s, nil
}

// ListenError is Listen failing to bind its address. Its message is
// "listen on ADDR: REASON" with the operating system's reason ("address
// already in use"), without the net package's "listen tcp" prefix nor this
// package's name, so a command can print it under its own name and add a
// hint (errors.Is(err, syscall.EADDRINUSE) tells a port clash).
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	reason := e.Err.Error()
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		reason = errno.Error()
	}
	return "listen on " + e.Addr + ": " + reason
}

func (e *ListenError) Unwrap() error { return e.Err }

// reachableAddr turns a wildcard listen address into one a local client can
// dial, so the issuer is a URL that works.
func reachableAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

func (s *Server) setBaseURL(raw string) error {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return fmt.Errorf("auth0emu: PublicURL must be an absolute http(s) URL without a path, got %q", raw)
	}
	s.baseMu.Lock()
	s.baseURL = u.String()
	s.baseMu.Unlock()
	return nil
}

// URL is the base URL without a trailing slash, e.g. http://127.0.0.1:8081.
// It is empty until Listen or Config.PublicURL sets it.
func (s *Server) URL() string {
	s.baseMu.RLock()
	defer s.baseMu.RUnlock()
	return s.baseURL
}

// Issuer is the tenant's issuer: URL()+"/", with the trailing slash
// exactly as Auth0 writes it. It is the iss of Management API tokens, and
// of every token unless Config.CustomDomainIssuer is set.
func (s *Server) Issuer() string { return s.URL() + "/" }

// UserIssuer is the iss of user access and ID tokens:
// Config.CustomDomainIssuer when set, otherwise Issuer().
func (s *Server) UserIssuer() string {
	if s.cfg.CustomDomainIssuer != "" {
		return s.cfg.CustomDomainIssuer
	}
	return s.Issuer()
}

// ManagementAudience is the audience of Management API tokens:
// URL()+"/api/v2/".
func (s *Server) ManagementAudience() string { return s.URL() + "/api/v2/" }

// Domain is URL() without the scheme, the form go-auth0's management.New
// takes (with management.WithInsecure for plain http).
func (s *Server) Domain() string {
	u := s.URL()
	if i := strings.Index(u, "://"); i >= 0 {
		return u[i+3:]
	}
	return u
}

// Config returns the effective configuration, defaults applied.
func (s *Server) Config() Config { return s.cfg }

// Close releases hung requests and, when Listen started the server, stops
// serving. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.http == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err = s.http.Shutdown(ctx); err != nil {
			err = s.http.Close()
		}
		<-s.serveDone
	})
	return err
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// Connections returns how many TCP connections clients have opened to a
// server started with Listen: each is a TLS handshake against a real
// tenant, so a client should reuse them.
func (s *Server) Connections() int64 { return s.connections.Load() }

// DefaultAPIScopes is what the dev tenant's client may ask for on the API:
// the service's dry-run of the rules for trusted tools.
var DefaultAPIScopes = []string{"profiling:explain"}
