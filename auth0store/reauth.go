package auth0store

import (
	"errors"
	"net/http"
	"time"

	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"
)

// errTokenGateClosed stands in for a token request the Store did not send
// because the token endpoint refused our client credentials less than
// ReauthInterval ago.
var errTokenGateClosed = errors.New("auth0store: not asking for a Management API token: the token endpoint refused our client credentials moments ago")

// renew answers a 401 that stale (the client the call used) got: it returns
// the client to repeat the call with, or nil when the call must not be
// repeated. A client already swapped in by a concurrent call is reused, so
// requests refused together cause one rebuild and, through the new client's
// token source (which serialises fetches), one token fetch. A rebuild
// happens at most once per ReauthInterval, so a tenant that keeps answering
// 401 does not make every request fetch a token.
func (s *Store) renew(stale *management.Management) *management.Management {
	s.renewMu.Lock()
	defer s.renewMu.Unlock()
	if cur := s.m.Load(); cur != stale {
		return cur
	}
	now := s.now()
	if !s.renewedAt.IsZero() && now.Sub(s.renewedAt) < s.reauthEvery {
		return nil
	}
	fresh, err := s.build()
	if err != nil {
		return nil // cannot happen once New succeeded: same host, same options
	}
	s.renewedAt = now
	s.m.Store(fresh)
	return fresh
}

func (s *Store) refusedRecently() bool {
	s.refusedMu.Lock()
	defer s.refusedMu.Unlock()
	return !s.refusedAt.IsZero() && s.now().Sub(s.refusedAt) < s.reauthEvery
}

func (s *Store) markRefused() {
	s.refusedMu.Lock()
	s.refusedAt = s.now()
	s.refusedMu.Unlock()
}

func (s *Store) clearRefused() {
	s.refusedMu.Lock()
	s.refusedAt = time.Time{}
	s.refusedMu.Unlock()
}

// tokenGate carries the client-credentials token requests. While the token
// endpoint's refusal is recent it sends none (calls already waiting on the
// token source fail at once instead of each asking again); it closes when a
// refusal is final and opens on any token issued.
//
// golang.org/x/oauth2 does not know whether the endpoint wants the
// credentials in a Basic header or in the form, so a fresh token source
// tries the header first and, refused, the form. A refused header attempt
// is therefore not final (an Auth0 application set to client_secret_post
// refuses it and accepts the form); a refused form attempt is. A refusal of
// a header attempt that was final (a source that learnt the header style)
// is caught from the call's error instead (see call).
type tokenGate struct {
	base  http.RoundTripper
	store *Store
}

func (g *tokenGate) RoundTrip(req *http.Request) (*http.Response, error) {
	if g.store.refusedRecently() {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper must close it, even unsent
		}
		return nil, errTokenGateClosed
	}
	base := g.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	switch {
	case err != nil:
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		g.store.clearRefused()
	case refusesClient(resp.StatusCode) && req.Header.Get("Authorization") == "":
		g.store.markRefused()
	}
	return resp, err
}

// refusesClient reports whether a token endpoint status refuses the client
// itself (wrong id or secret, no grant for the audience), rather than being
// a passing fault worth asking again for.
func refusesClient(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// tokenEndpointRefused reports whether err is the token endpoint's own
// answer refusing our client.
func tokenEndpointRefused(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.Response != nil && refusesClient(re.Response.StatusCode)
}

// statusOf is the Management API's HTTP status in err, 0 when it did not
// answer.
func statusOf(err error) int {
	var apiErr management.Error
	if errors.As(err, &apiErr) {
		return apiErr.Status()
	}
	return 0
}
