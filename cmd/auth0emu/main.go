// Command auth0emu runs the Auth0-compatible emulator on its own, so
// frontend and mobile developers can point their apps (and the service, via
// AUTH0_DOMAIN) at a tenant that needs no internet:
//
//	go run ./cmd/auth0emu -addr 127.0.0.1:8081 -audience https://api.example.com \
//	    -client-id dev-management-client -client-secret dev-management-secret \
//	    -rate free -seed=true
//
// It prints the base URL, the issuer, the seeded users with their password
// and a curl line that logs one in, then serves until SIGINT or SIGTERM and
// shuts down gracefully. -rate takes a tenant preset (free: 2/s, burst 2;
// dev, a non-production tenant: 0.5/s, burst 5; paid: 16/s, burst 50, the
// default) or a number of requests per second. -audience, -client-id and
// -client-secret default to AUTH0_AUDIENCE, AUTH0_CLIENT_ID and
// AUTH0_CLIENT_SECRET when set, and otherwise to the dev tenant's values
// (auth0emu.DefaultAudience, ...), the ones the service's dev mode uses, so
// the emulator and the service agree. -key-file keeps the signing key in a PEM
// file so issued tokens stay valid across restarts; -public-url sets the
// issuer when apps reach the emulator on another address (a phone on the
// LAN). -web-origins, -callback-urls and -logout-urls are the application's
// allow-lists for Universal Login (/authorize, /v2/logout) and CORS; by
// default they admit the React dev servers on ports 5173 and 3000. See
// package auth0emu for the endpoints and the /emulator admin
// routes (key rotation, faults, users, tokens). -seed-users N adds N
// load-test users (load-1@example.com ..., auth0emu.LoadUserID) for load
// tests in which every request reads another user.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/progressive-profiling/bff/internal/auth0emu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "auth0emu:", err)
		os.Exit(2)
	}
}

// run parses args, starts the emulator, prints how to use it and serves
// until ctx is done. -help prints the flags and returns nil: asking for help
// is not a failure.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("auth0emu", flag.ContinueOnError)
	flags.SetOutput(stderr)
	envOr := func(name, fallback string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return fallback
	}
	addr := flags.String("addr", auth0emu.DefaultAddr, "address to listen on (host:port; port 0 picks a free one)")
	publicURL := flags.String("public-url", "", "base URL clients use when it differs from http://<addr> (e.g. a LAN address for a phone)")
	audience := flags.String("audience", envOr("AUTH0_AUDIENCE", auth0emu.DefaultAudience), "API identifier of user access tokens ($AUTH0_AUDIENCE when set)")
	clientID := flags.String("client-id", envOr("AUTH0_CLIENT_ID", auth0emu.DefaultClientID), "the pre-registered client id ($AUTH0_CLIENT_ID when set)")
	clientSecret := flags.String("client-secret", envOr("AUTH0_CLIENT_SECRET", auth0emu.DefaultClientSecret), "the client secret ($AUTH0_CLIENT_SECRET when set)")
	rate := flags.String("rate", "paid", "Management API limit: a tenant preset, "+presetHelp()+
		", or a refill per second (negative: unlimited)")
	burst := flags.Int("burst", 0, fmt.Sprintf("Management API token-bucket size (default: the preset's, %d with a number)", auth0emu.DefaultRateBurst))
	ttl := flags.Duration("token-ttl", auth0emu.DefaultTokenTTL, "lifetime of issued tokens")
	seed := flags.Bool("seed", true, "create the dev-mode seed users")
	loadUsers := flags.Int("seed-users", 0, fmt.Sprintf("also create this many load-test users (at most %d): %s, %s, ... "+
		"with ids %s, %s, ..., each shaped like returning@example.com, for scripts/load's cold-cache phase",
		auth0emu.MaxLoadUsers, auth0emu.LoadUserEmail(1), auth0emu.LoadUserEmail(2), auth0emu.LoadUserID(1), auth0emu.LoadUserID(2)))
	keyFile := flags.String("key-file", "", "PEM file of the signing key, created on first use, so tokens stay valid across restarts (default: a new key each start)")
	quiet := flags.Bool("quiet", false, "do not log each request")
	webOrigins := flags.String("web-origins", strings.Join(auth0emu.DevWebOrigins, ","),
		"comma-separated origins browser apps call /oauth/token and /userinfo from and get silent-authentication answers on")
	callbackURLs := flags.String("callback-urls", "", "comma-separated redirect_uri values /authorize accepts, compared exactly (default: each web origin, with and without a trailing /)")
	logoutURLs := flags.String("logout-urls", "", "comma-separated returnTo values /v2/logout accepts (default: as -callback-urls)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err // flag has printed the problem and the usage
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; every setting is a flag (see -h)", flags.Args())
	}
	var preset string
	var limit float64
	if _, err := auth0emu.LookupRatePreset(*rate); err == nil {
		preset = *rate
	} else if limit, err = strconv.ParseFloat(*rate, 64); err != nil || math.IsNaN(limit) || math.IsInf(limit, 0) {
		return fmt.Errorf("-rate %q is neither a preset (%s) nor a number of requests per second", *rate, presetHelp())
	}
	if preset == "" && limit == 0 {
		return errors.New("-rate 0 would refuse every Management API call; use a positive rate, or a negative one for unlimited")
	}
	burstSet := false
	flags.Visit(func(f *flag.Flag) { burstSet = burstSet || f.Name == "burst" })
	if burstSet && *burst <= 0 {
		return fmt.Errorf("-burst must be positive, got %d", *burst)
	}
	if preset == "" && *burst == 0 {
		*burst = auth0emu.DefaultRateBurst
	}
	if *loadUsers < 0 || *loadUsers > auth0emu.MaxLoadUsers {
		return fmt.Errorf("-seed-users must be from 0 to %d, got %d", auth0emu.MaxLoadUsers, *loadUsers)
	}
	if *ttl <= 0 {
		return fmt.Errorf("-token-ttl must be positive, got %s", *ttl)
	}

	logger := log.New(stderr, "", log.LstdFlags)
	cfg := auth0emu.Config{
		Audience: *audience, ClientID: *clientID, ClientSecret: *clientSecret,
		TokenTTL: *ttl, RateLimit: limit, RateBurst: *burst, RatePreset: preset, PublicURL: *publicURL,
		WebOrigins: splitList(*webOrigins),
	}
	cfg.CallbackURLs = auth0emu.RootURLs(cfg.WebOrigins)
	if *callbackURLs != "" {
		cfg.CallbackURLs = splitList(*callbackURLs)
	}
	cfg.LogoutURLs = cfg.CallbackURLs
	if *logoutURLs != "" {
		cfg.LogoutURLs = splitList(*logoutURLs)
	}
	if *keyFile != "" {
		key, err := loadOrCreateKey(*keyFile)
		if err != nil {
			return err
		}
		cfg.SigningKey = key
	}
	if !*quiet {
		cfg.Logf = logger.Printf
	}
	emu, err := auth0emu.Listen(*addr, cfg)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w (is another emulator or dev-mode service running? use -addr)", err)
	}
	if err != nil {
		return err
	}
	defer emu.Close()
	if *seed {
		if err := emu.Seed(); err != nil {
			return fmt.Errorf("seeding users: %w", err)
		}
	}
	if err := emu.SeedLoadUsers(*loadUsers); err != nil {
		return fmt.Errorf("seeding load-test users: %w", err)
	}
	printUsage(stdout, emu, *seed, *loadUsers)

	<-ctx.Done()
	logger.Printf("auth0emu: shutting down")
	return emu.Close()
}

func printUsage(w io.Writer, emu *auth0emu.Server, seeded bool, loadUsers int) {
	c := emu.Config()
	fmt.Fprintf(w, "Auth0 emulator listening on %s\n", emu.URL())
	fmt.Fprintf(w, "  issuer:              %s\n", emu.Issuer())
	fmt.Fprintf(w, "  AUTH0_DOMAIN:        %s\n", emu.URL())
	fmt.Fprintf(w, "  audience:            %s\n", c.Audience)
	fmt.Fprintf(w, "  client id / secret:  %s / %s\n", c.ClientID, c.ClientSecret)
	fmt.Fprintf(w, "  JWKS:                %s/.well-known/jwks.json\n", emu.URL())
	limit := fmt.Sprintf("rate %g/s, burst %d", c.RateLimit, c.RateBurst)
	if c.RateLimit < 0 {
		limit = "no rate limit"
	}
	fmt.Fprintf(w, "  Management API:      %s/api/v2/ (%s)\n", emu.URL(), limit)
	fmt.Fprintf(w, "  Universal Login:     %s/authorize (web origins %s)\n", emu.URL(), strings.Join(c.WebOrigins, ", "))
	if seeded {
		fmt.Fprintf(w, "\nSeeded users (password %q for all):\n", auth0emu.SeedPassword)
		for _, u := range auth0emu.SeedUsers() {
			fmt.Fprintf(w, "  %-24s %s\n", u.Email, u.ID)
		}
		fmt.Fprintf(w, "\nLog a user in (counts as a login) and keep the access token:\n  %s\n", tokenCommand(emu, "new@example.com"))
	}
	if loadUsers > 0 {
		fmt.Fprintf(w, "\n%d load-test users (password %q): %s ... %s, ids %s ... %s\n", loadUsers, auth0emu.SeedPassword,
			auth0emu.LoadUserEmail(1), auth0emu.LoadUserEmail(loadUsers), auth0emu.LoadUserID(1), auth0emu.LoadUserID(loadUsers))
	}
	fmt.Fprintf(w, "\nAdmin routes (HTTP Basic with the client id and secret), e.g. rotate the signing key:\n")
	fmt.Fprintf(w, "  curl -s -u '%s:%s' -X POST %s/emulator/keys/rotate\n", c.ClientID, c.ClientSecret, emu.URL())
}

// splitList reads a comma-separated flag; an empty one is an empty list,
// not the defaults.
func splitList(v string) []string {
	out := []string{}
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// presetHelp lists the rate presets for -help and errors.
func presetHelp() string {
	var parts []string
	for _, p := range auth0emu.RatePresets {
		parts = append(parts, fmt.Sprintf("%s (%s)", p.Name, p.About))
	}
	return strings.Join(parts, ", ")
}

// loadOrCreateKey reads an RSA private key (PKCS#1 or PKCS#8 PEM) from path,
// or generates one and writes it there (mode 0600) when the file is absent.
func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("-key-file: generating a key: %w", err)
		}
		block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			return nil, fmt.Errorf("-key-file: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("-key-file: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("-key-file %s: no PEM block", path)
	}
	if key, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return key, nil
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("-key-file %s: not an RSA private key in PKCS#1 or PKCS#8 form", path)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("-key-file %s: holds a %T, want an RSA key", path, parsed)
	}
	return key, nil
}

// tokenCommand is a copy-pasteable shell line for the password grant.
func tokenCommand(emu *auth0emu.Server, email string) string {
	c := emu.Config()
	return fmt.Sprintf(`TOKEN=$(curl -s %s/oauth/token -d grant_type=password -d username=%s -d 'password=%s' -d client_id=%s -d audience=%s | sed -E 's/.*"access_token":"([^"]+)".*/\1/')`,
		emu.URL(), email, auth0emu.SeedPassword, c.ClientID, c.Audience)
}
