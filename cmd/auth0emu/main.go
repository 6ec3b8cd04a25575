// Command auth0emu runs the Auth0-compatible emulator on its own, so
// frontend and mobile developers can point their apps (and the service, via
// AUTH0_DOMAIN) at a tenant that needs no internet:
//
//	go run ./cmd/auth0emu -addr 127.0.0.1:8081 -audience https://api.example.com \
//	    -client-id dev-management-client -client-secret dev-management-secret \
//	    -rate 16 -burst 50 -seed=true
//
// It prints the base URL, the issuer, the seeded users with their password
// and a curl line that logs one in, then serves until SIGINT or SIGTERM and
// shuts down gracefully. -audience, -client-id and -client-secret default to
// AUTH0_AUDIENCE, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET when set, so the
// emulator and the service agree. See package auth0emu for the endpoints and
// the /emulator admin routes (key rotation, faults, users, tokens).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/progressive-profiling/bff/auth0emu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "auth0emu:", err)
		}
		os.Exit(2)
	}
}

// run parses args, starts the emulator, prints how to use it and serves
// until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("auth0emu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envOr := func(name, fallback string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return fallback
	}
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on (host:port; port 0 picks a free one)")
	publicURL := fs.String("public-url", "", "base URL clients use when it differs from http://<addr> (e.g. a LAN address for a phone)")
	audience := fs.String("audience", envOr("AUTH0_AUDIENCE", auth0emu.DefaultAudience), "API identifier of user access tokens (default $AUTH0_AUDIENCE)")
	clientID := fs.String("client-id", envOr("AUTH0_CLIENT_ID", auth0emu.DefaultClientID), "the pre-registered client id (default $AUTH0_CLIENT_ID)")
	clientSecret := fs.String("client-secret", envOr("AUTH0_CLIENT_SECRET", auth0emu.DefaultClientSecret), "the client secret (default $AUTH0_CLIENT_SECRET)")
	rate := fs.Float64("rate", auth0emu.DefaultRateLimit, "Management API token-bucket refill per second (negative: unlimited)")
	burst := fs.Int("burst", auth0emu.DefaultRateBurst, "Management API token-bucket size")
	ttl := fs.Duration("token-ttl", auth0emu.DefaultTokenTTL, "lifetime of issued tokens")
	seed := fs.Bool("seed", true, "create the dev-mode seed users")
	quiet := fs.Bool("quiet", false, "do not log each request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; every setting is a flag (see -h)", fs.Args())
	}
	if *rate == 0 {
		return errors.New("-rate 0 would refuse every Management API call; use a positive rate, or a negative one for unlimited")
	}
	if *burst <= 0 {
		return fmt.Errorf("-burst must be positive, got %d", *burst)
	}
	if *ttl <= 0 {
		return fmt.Errorf("-token-ttl must be positive, got %s", *ttl)
	}

	logger := log.New(stderr, "", log.LstdFlags)
	cfg := auth0emu.Config{
		Audience: *audience, ClientID: *clientID, ClientSecret: *clientSecret,
		TokenTTL: *ttl, RateLimit: *rate, RateBurst: *burst, PublicURL: *publicURL,
	}
	if !*quiet {
		cfg.Logf = logger.Printf
	}
	emu, err := auth0emu.Listen(*addr, cfg)
	if err != nil {
		return err
	}
	defer emu.Close()
	if *seed {
		if err := emu.Seed(); err != nil {
			return fmt.Errorf("seeding users: %w", err)
		}
	}
	printUsage(stdout, emu, *seed)

	<-ctx.Done()
	logger.Printf("auth0emu: shutting down")
	return emu.Close()
}

func printUsage(w io.Writer, emu *auth0emu.Server, seeded bool) {
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
	if seeded {
		fmt.Fprintf(w, "\nSeeded users (password %q for all):\n", auth0emu.SeedPassword)
		for _, u := range auth0emu.SeedUsers() {
			fmt.Fprintf(w, "  %-24s %s\n", u.Email, u.ID)
		}
		fmt.Fprintf(w, "\nLog a user in (counts as a login) and keep the access token:\n  %s\n", tokenCommand(emu, "new@example.com"))
	}
	fmt.Fprintf(w, "\nAdmin routes (HTTP Basic with the client id and secret), e.g. rotate the signing key:\n")
	fmt.Fprintf(w, "  curl -s -u '%s:%s' -X POST %s/emulator/keys/rotate\n", c.ClientID, c.ClientSecret, emu.URL())
}

// tokenCommand is a copy-pasteable shell line for the password grant.
func tokenCommand(emu *auth0emu.Server, email string) string {
	c := emu.Config()
	return fmt.Sprintf(`TOKEN=$(curl -s %s/oauth/token -d grant_type=password -d username=%s -d 'password=%s' -d client_id=%s -d audience=%s | sed -E 's/.*"access_token":"([^"]+)".*/\1/')`,
		emu.URL(), email, auth0emu.SeedPassword, c.ClientID, c.Audience)
}
