package auth0store

import (
	"context"
	"fmt"
	"testing"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/profiling"
)

// BenchmarkUser is one read through the real go-auth0 client and the
// emulator over loopback HTTP (token cached): the floor under every cache
// miss.
func BenchmarkUser(b *testing.B) {
	emu := emulatorB(b)
	s := storeB(b, emu)
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := s.User(ctx, auth0emu.SeedReturningUserID, profiling.Read{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdateUser(b *testing.B) {
	emu := emulatorB(b)
	s := storeB(b, emu)
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

func emulatorB(b *testing.B) *auth0emu.Server {
	emu, err := auth0emu.Listen("127.0.0.1:0", auth0emu.Config{RateLimit: -1, SigningKey: sharedKey()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = emu.Close() })
	if err := emu.Seed(); err != nil {
		b.Fatal(err)
	}
	return emu
}

func storeB(b *testing.B, emu *auth0emu.Server) *Store {
	s, err := New(context.Background(), Config{Domain: emu.URL(), ClientID: emu.Config().ClientID, ClientSecret: emu.Config().ClientSecret})
	if err != nil {
		b.Fatal(err)
	}
	return s
}
