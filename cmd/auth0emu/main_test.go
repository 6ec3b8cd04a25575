package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/syncbuf"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// The printed instructions work: the URL answers, and the curl line's
// password grant returns a token for the audience taken from the
// environment. Cancelling the context (SIGINT) shuts it down cleanly.
func TestRunPrintsWorkingInstructionsAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-rate", "-1"},
			env(map[string]string{"AUTH0_AUDIENCE": "https://api.from-env.example", "AUTH0_CLIENT_ID": "env-client"}),
			&stdout, &stderr)
	}()
	urlLine := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "emulator/keys/rotate") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	out := stdout.String()
	base := urlLine.FindStringSubmatch(out)[1]
	for _, want := range []string{
		"issuer:              " + base + "/",
		"new@example.com", "social@example.com", "returning@example.com", "enriched@example.com",
		`"Passw0rd!"`, "-d client_id=env-client", "-d audience=https://api.from-env.example",
		"no rate limit",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}

	// What the printed curl line sends.
	resp, err := http.PostForm(base+"/oauth/token", url.Values{
		"grant_type": {"password"}, "username": {"new@example.com"}, "password": {"Passw0rd!"},
		"client_id": {"env-client"}, "audience": {"https://api.from-env.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || body["access_token"] == nil {
		t.Errorf("token from the printed command: %d %v", resp.StatusCode, body)
	}
	if !strings.Contains(stderr.String(), "POST /oauth/token → 200") {
		t.Errorf("request not logged: %q", stderr.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if _, err := http.Get(base + "/.well-known/jwks.json"); err == nil {
		t.Errorf("still serving after shutdown")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-rate", "0"},
		{"-burst", "0"},
		{"-rate", "enterprise"},
		{"-rate", "NaN"},
		{"-token-ttl", "-1s"},
		{"-nope"},
		{"extra"},
		{"-addr", "256.0.0.1:99999"},
		{"-public-url", "ftp://x"},
	} {
		var out, errOut syncbuf.Buffer
		if err := run(context.Background(), args, env(nil), &out, &errOut); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// -key-file creates the key once and reuses it, so kids (and tokens) survive
// a restart.
func TestKeyFileIsCreatedThenReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.pem")
	first, err := loadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v, want mode 0600", info, err)
	}
	second, err := loadOrCreateKey(path)
	if err != nil || !first.Equal(second) {
		t.Fatalf("reloaded a different key: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateKey(bad); err == nil || !strings.Contains(err.Error(), "bad.pem") {
		t.Errorf("garbage key file: %v", err)
	}
}

// startEmulator runs the command with args and an empty environment until
// it prints its banner, and returns its base URL; the test's end stops it.
func startEmulator(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncbuf.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, env(nil), &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	urlLine := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := urlLine.FindStringSubmatch(stdout.String()); m != nil && strings.Contains(stdout.String(), "emulator/keys/rotate") {
			return m[1]
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("run returned %v before its banner; stderr %q", err, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout %q stderr %q", stdout.String(), stderr.String())
		}
	}
}

// With nothing configured the stand-alone emulator is the dev tenant: the
// README's login line (dev mode's client id and audience) gets a token.
func TestDefaultsAreTheDevTenant(t *testing.T) {
	base := startEmulator(t, "-addr", "127.0.0.1:0", "-quiet")
	resp, err := http.PostForm(base+"/oauth/token", url.Values{
		"grant_type": {"password"}, "username": {"new@example.com"}, "password": {"Passw0rd!"},
		"client_id": {"dev-client"}, "audience": {"https://profiling-bff.local/api"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("the README's login against the stand-alone emulator: %d %s", resp.StatusCode, b)
	}
}

// -help is an answer, not a failure: run returns nil (main exits 0) after
// printing the flags.
func TestHelpSucceeds(t *testing.T) {
	for _, arg := range []string{"-help", "-h", "--help"} {
		var out, errOut syncbuf.Buffer
		if err := run(context.Background(), []string{arg}, env(nil), &out, &errOut); err != nil {
			t.Errorf("%s: %v", arg, err)
		}
		if !strings.Contains(errOut.String()+out.String(), "-addr") {
			t.Errorf("%s printed no flags: %q", arg, errOut.String()+out.String())
		}
	}
}

// A port already taken says so once, names the address and suggests the
// fix, instead of "auth0emu: auth0emu: listen on ...: listen tcp ...".
func TestPortClashIsExplained(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	var out, errOut syncbuf.Buffer
	err = run(context.Background(), []string{"-addr", addr}, env(nil), &out, &errOut)
	want := "listen on " + addr + ": address already in use (is another emulator or dev-mode service running? use -addr)"
	if err == nil || err.Error() != want {
		t.Fatalf("port clash: %v\nwant: %s", err, want)
	}
}

// -rate takes a tenant preset by name; the banner says which limit applies.
func TestRunRatePreset(t *testing.T) {
	for args, want := range map[string]string{
		"-rate free":         "rate 2/s, burst 2",
		"-rate dev":          "rate 0.5/s, burst 5",
		"-rate dev -burst 1": "rate 0.5/s, burst 1",
		"-rate 3":            "rate 3/s, burst 50",
		"-rate 3 -burst 7":   "rate 3/s, burst 7",
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var out, errOut syncbuf.Buffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-seed=false", "-quiet"}, strings.Fields(args)...), env(nil), &out, &errOut)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "emulator/keys/rotate") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v %s", args, err, errOut.String())
		}
		if !strings.Contains(out.String(), "("+want+")") {
			t.Errorf("%s: banner lacks %q:\n%s", args, want, out.String())
		}
	}
}

// The allow-list flags reach Universal Login: a listed callback gets the
// login page, the dev default (no longer listed) an error page.
func TestUniversalLoginAllowListFlags(t *testing.T) {
	base := startEmulator(t, "-addr", "127.0.0.1:0", "-quiet", "-web-origins", "http://app.test:8000",
		"-callback-urls", "http://app.test:8000/callback")
	status := func(redirectURI string) int {
		resp, err := http.Get(base + "/authorize?" + url.Values{
			"client_id": {"dev-client"}, "response_type": {"code"}, "redirect_uri": {redirectURI},
		}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("http://app.test:8000/callback"); got != http.StatusOK {
		t.Errorf("listed callback: %d, want the login page", got)
	}
	if got := status("http://localhost:5173/"); got != http.StatusBadRequest {
		t.Errorf("unlisted dev callback: %d, want the error page", got)
	}
}

// -seed-users creates the load-test users, names them in the banner, and is
// bounded.
func TestSeedUsersFlag(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-quiet", "-seed-users", "3"}, env(nil), &out, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "emulator/keys/rotate") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	base := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(out.String())
	if base == nil {
		t.Fatalf("no banner: %q %q", out.String(), errOut.String())
	}
	// A load-test user logs in like the seed users.
	resp, err := http.PostForm(base[1]+"/oauth/token", url.Values{
		"grant_type": {"password"}, "username": {"load-3@example.com"}, "password": {"Passw0rd!"}, "client_id": {"dev-client"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v %s", err, errOut.String())
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("load-3 login: %d", resp.StatusCode)
	}
	if want := "3 load-test users"; !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "auth0|10ad00000000000000000003") {
		t.Errorf("banner lacks %q and the last id:\n%s", want, out.String())
	}
	for _, n := range []string{"-1", "100001"} {
		if err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-seed-users", n}, env(nil), &out, &errOut); err == nil {
			t.Errorf("-seed-users %s accepted", n)
		}
	}
}
