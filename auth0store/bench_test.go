package auth0store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/profiling"
)

// BenchmarkUser is one read through the real go-auth0 client and the
// emulator over loopback HTTP (token cached): the floor under every cache
// miss.
func BenchmarkUser(b *testing.B) {
	emu := emulator(b)
	s := newStore(b, emu, Config{})
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := s.User(ctx, auth0emu.SeedReturningUserID, profiling.Read{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUserAsWired is BenchmarkUser with the service's wiring: the
// traced transport with tracing off (a no-op tracer provider, W3C
// propagation) and the metrics registered.
func BenchmarkUserAsWired(b *testing.B) {
	emu := emulator(b)
	s, err := New(context.Background(), Config{
		Domain: emu.URL(), ClientID: emu.Config().ClientID, ClientSecret: emu.Config().ClientSecret,
		HTTPClient: &http.Client{Timeout: DefaultTimeout, Transport: TracedTransport(NewTransport(), tracenoop.NewTracerProvider(),
			propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))},
		Metrics: prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.User(ctx, auth0emu.SeedReturningUserID, profiling.Read{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeUser is the decoding of one answer: the returning and the
// enterprise seed users as the Management API sends them.
func BenchmarkDecodeUser(b *testing.B) {
	emu := emulator(b)
	for _, id := range []string{auth0emu.SeedReturningUserID, auth0emu.SeedEnterpriseUserID} {
		doc, _ := emu.User(id)
		raw, err := json.Marshal(doc)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.SplitN(id, "|", 2)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var u auth0User
				if err := json.Unmarshal(raw, &u); err != nil {
					b.Fatal(err)
				}
				_ = toDomain(&u)
			}
		})
	}
}

func BenchmarkUpdateUser(b *testing.B) {
	emu := emulator(b)
	s := newStore(b, emu, Config{})
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		p := profiling.Patch{UserMetadata: map[string]any{"n": fmt.Sprint(i)}}
		if _, err := s.UpdateUser(ctx, auth0emu.SeedReturningUserID, p); err != nil {
			b.Fatal(err)
		}
	}
}
