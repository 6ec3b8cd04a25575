package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/profiling"
)

// startDevEmulator starts the embedded Auth0 emulator with the service's own
// audience and client credentials, and seeds the dev users.
func startDevEmulator(cfg config) (*auth0emu.Server, error) {
	emu, err := auth0emu.Listen(cfg.DevAuth0Addr, auth0emu.Config{
		Audience:     cfg.Audience,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		// The browser apps the service admits may sign in through the
		// emulator's Universal Login too, at their root URL.
		WebOrigins:   cfg.CORSOrigins,
		CallbackURLs: auth0emu.RootURLs(cfg.CORSOrigins),
		LogoutURLs:   auth0emu.RootURLs(cfg.CORSOrigins),
	})
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("dev mode: starting the Auth0 emulator: %w (is another emulator or dev-mode service running? set DEV_AUTH0_ADDR)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("dev mode: starting the Auth0 emulator on DEV_AUTH0_ADDR=%s: %w", cfg.DevAuth0Addr, err)
	}
	for _, u := range auth0emu.SeedUsers() {
		if _, err := emu.CreateUser(u); err != nil {
			emu.Close()
			return nil, fmt.Errorf("dev mode: seeding %s: %w", u.Email, err)
		}
	}
	return emu, nil
}

// devUser is a seeded user as the playground and the banner show it.
type devUser struct {
	Email string `json:"email"`
	ID    string `json:"id"`
	Token string `json:"token"`
}

// devPlaygroundUsers returns a function listing the seeded users, each with a
// freshly issued access token (issuing one does not count as a login), or nil
// outside dev mode.
func devPlaygroundUsers(emu *auth0emu.Server) func() []devUser {
	if emu == nil {
		return nil
	}
	return func() []devUser {
		var users []devUser
		for _, u := range auth0emu.SeedUsers() {
			token, err := emu.IssueAccessToken(u.ID)
			if err != nil {
				continue
			}
			users = append(users, devUser{Email: u.Email, ID: u.ID, Token: token})
		}
		return users
	}
}

// printBanner tells a developer where everything is and how to sign in.
func printBanner(w io.Writer, cfg config, addr net.Addr, rules *profiling.Rules, emu *auth0emu.Server) {
	base := "http://" + displayAddr(addr)
	fmt.Fprintf(w, "progressive profiling API listening on %s\n", base)
	fmt.Fprintf(w, "  GraphQL endpoint: %s/graphql\n", base)
	if cfg.Playground {
		fmt.Fprintf(w, "  playground:       %s/\n", base)
	}
	fmt.Fprintf(w, "  rules:            %s\n", rules.File())
	if cfg.EmbeddedRedis && !cfg.DevMode {
		fmt.Fprintf(w, "  WARNING: REDIS_EMBEDDED=true: in-process Redis, this instance's alone (no shared cache, no cross-instance write lock); run one instance only\n")
	}
	if emu == nil {
		return
	}
	fmt.Fprintf(w, "\nDEV MODE (AUTH0_DOMAIN unset): embedded Auth0 emulator and embedded Redis.\n")
	fmt.Fprintf(w, "  Auth0 emulator domain: %s  (issuer %s)\n", emu.URL(), emu.Issuer())
	fmt.Fprintf(w, "  audience: %s   client id: %s\n", cfg.Audience, cfg.ClientID)
	fmt.Fprintf(w, "\nSeeded users (password %q for all):\n", auth0emu.SeedPassword)
	for _, u := range auth0emu.SeedUsers() {
		fmt.Fprintf(w, "  %-24s %s\n", u.Email, u.ID)
	}
	fmt.Fprintf(w, "\nGet a token for a user (each call is a login: logins_count goes up):\n  %s\n",
		tokenCommand(emu.URL(), cfg, "new@example.com"))
	fmt.Fprintf(w, "Then: curl -s %s/graphql -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{\"query\":\"{ viewer { email stage pendingFields { key label } } }\"}'\n", base)
	if cfg.Playground {
		fmt.Fprintf(w, "The playground opens signed in as %s; its start page shows how to switch users.\n", auth0emu.SeedUsers()[0].Email)
	}
}

// tokenCommand is a copy-pasteable shell line that logs a seeded user in
// through the emulator's password grant and keeps the access token in $TOKEN.
func tokenCommand(emulatorURL string, cfg config, email string) string {
	return fmt.Sprintf(`TOKEN=$(curl -s %s/oauth/token -d grant_type=password -d username=%s -d 'password=%s' -d client_id=%s -d audience=%s | sed -E 's/.*"access_token":"([^"]+)".*/\1/')`,
		emulatorURL, email, auth0emu.SeedPassword, cfg.ClientID, cfg.Audience)
}

func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if host == "::" || host == "0.0.0.0" || host == "" || strings.HasPrefix(host, "[") {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
