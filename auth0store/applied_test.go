package auth0store

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/profiling"
)

// A cache keeps its copy after a failed update only when the error says
// nothing was applied; each case checks the claim against the emulator's
// store.
func TestFailedUpdateSaysWhetherTheChangeMayHaveLanded(t *testing.T) {
	cases := []struct {
		name       string
		fault      auth0emu.Fault
		timeout    time.Duration
		notApplied bool
	}{
		{"503 refused", auth0emu.Fault{Status: http.StatusServiceUnavailable}, 0, true},
		{"429 rate limited", auth0emu.Fault{RateLimited: true}, 0, true},
		{"answer that does not decode", auth0emu.Fault{MalformedJSON: true}, 0, false},
		{"answer that panics the SDK", auth0emu.Fault{Body: []byte(`{"user_id":"x","email_verified":"yes"}`)}, 0, false},
		{"no answer in time", auth0emu.Fault{Latency: time.Hour}, 300 * time.Millisecond, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := emulator(t)
			s := newStore(t, emu, Config{MaxRetries: -1, Timeout: tc.timeout})
			emu.SetFault(auth0emu.RoutePatchUser, tc.fault)
			_, err := s.UpdateUser(context.Background(), auth0emu.SeedNewUserID,
				profiling.Patch{UserMetadata: map[string]any{"marker": tc.name}})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v is not *Error", err)
			}
			if got := e.ChangeNotApplied(); got != tc.notApplied {
				t.Fatalf("ChangeNotApplied() = %v, want %v (err %v)", got, tc.notApplied, err)
			}
			emu.ClearFaults()
			// Read the emulator's store itself: after a 429 the Store
			// rightly refuses to call before the reset.
			u, _ := emu.User(auth0emu.SeedNewUserID)
			meta, _ := u["user_metadata"].(map[string]any)
			// Each "may have" case is one where the change really landed.
			if landed := meta["marker"] == tc.name; landed == tc.notApplied {
				t.Fatalf("ChangeNotApplied() = %v, but the emulator's store has the change: %v", tc.notApplied, landed)
			}
		})
	}

	emu := emulator(t)
	s := newStore(t, emu, Config{})
	_, err := s.UpdateUser(context.Background(), auth0emu.SeedNewUserID, profiling.Patch{UserMetadata: map[string]any{"a.b": 1}})
	var e *Error
	if !errors.As(err, &e) || !e.ChangeNotApplied() {
		t.Fatalf("an invalid patch, never sent: %v, want ChangeNotApplied", err)
	}
}
