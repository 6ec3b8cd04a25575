package auth0store

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/profiling"
)

// CheckCredentials tells a configuration mistake (refused: fatal at
// start-up) from an outage (unavailable: retried), with the status and
// Auth0's error code in the message and never the secret.
func TestCheckCredentialsTellsRefusalFromOutage(t *testing.T) {
	emu := emulator(t)
	if err := newStore(t, emu, Config{}).CheckCredentials(context.Background()); err != nil {
		t.Fatalf("right credentials: %v", err)
	}

	const secret = "wrong-secret-do-not-log"
	wrong, err := New(context.Background(), Config{Domain: emu.URL(), ClientID: emu.Config().ClientID, ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.CheckCredentials(context.Background())
	if !errors.Is(err, ErrCredentialsRefused) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("wrong secret: %v, want ErrCredentialsRefused naming 401 access_denied", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || strings.Contains(e.LogValue().String(), secret) || strings.Contains(err.Error(), secret) {
		t.Fatalf("wrong secret: %v (log %s)", err, e.LogValue())
	}

	for name, fault := range map[string]auth0emu.Fault{
		"503": {Status: http.StatusServiceUnavailable},
		"429": {RateLimited: true},
	} {
		emu.SetFault(auth0emu.RouteToken, fault)
		err := newStore(t, emu, Config{}).CheckCredentials(context.Background())
		if errors.Is(err, ErrCredentialsRefused) || !errors.Is(err, profiling.ErrUpstreamUnavailable) || !strings.Contains(err.Error(), name) {
			t.Errorf("token endpoint %s: %v, want unavailable naming %s", name, err, name)
		}
		emu.ClearFaults()
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	down, err := New(context.Background(), Config{Domain: closed, ClientID: "id", ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	err = down.CheckCredentials(context.Background())
	if errors.Is(err, ErrCredentialsRefused) || !errors.Is(err, profiling.ErrUpstreamUnavailable) || strings.Contains(err.Error(), secret) {
		t.Errorf("tenant unreachable: %v, want unavailable", err)
	}
}
