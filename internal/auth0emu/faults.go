package auth0emu

import (
	"context"
	"slices"
	"time"
)

// Route names one emulated endpoint, for Count and SetFault.
type Route string

// The routes the emulator counts and can inject faults into.
const (
	RouteToken      Route = "POST /oauth/token"
	RouteJWKS       Route = "GET /.well-known/jwks.json"
	RouteOpenIDConf Route = "GET /.well-known/openid-configuration"
	RouteUserinfo   Route = "GET /userinfo"
	RouteGetUser    Route = "GET /api/v2/users/{id}"
	RoutePatchUser  Route = "PATCH /api/v2/users/{id}"
	RouteCreateUser Route = "POST /api/v2/users"
	RouteAuthorize  Route = "GET /authorize"
	RouteLoginPage  Route = "GET /u/login"
	RouteSignupPage Route = "GET /u/signup"
	RouteLogin      Route = "POST /u/login"
	RouteSignup     Route = "POST /u/signup"
	RouteLogout     Route = "GET /v2/logout"
)

// Routes lists every Route, for admin and reporting code.
func Routes() []Route {
	return []Route{
		RouteToken, RouteJWKS, RouteOpenIDConf, RouteUserinfo, RouteGetUser, RoutePatchUser, RouteCreateUser,
		RouteAuthorize, RouteLoginPage, RouteSignupPage, RouteLogin, RouteSignup, RouteLogout,
	}
}

// Fault is a misbehaviour injected into one route. Fields combine; the order
// is: Hang, then Status or RateLimited (the request is not processed), else
// normal processing; then MalformedJSON or Body replace the body; then
// Processed is signalled; then Latency and Hold delay the response.
type Fault struct {
	// Latency delays the response. The request is processed on arrival, so
	// a delayed GET returns the user as it was when the request arrived and
	// a delayed PATCH is already stored: a write landing during the delay
	// produces the stale read a cache must survive.
	Latency time.Duration
	// Hang holds the request unanswered and unprocessed until the client
	// gives up, ClearFaults is called or the server closes; after
	// ClearFaults the request is then processed normally.
	Hang bool
	// Status answers with this HTTP status (e.g. 500, 503) and an
	// Auth0-shaped error body, without processing the request.
	Status int
	// RateLimited answers 429 too_many_requests with Auth0's body and
	// X-RateLimit-* and Retry-After headers, without processing.
	RateLimited bool
	// RetryAfter, with RateLimited, is how long the 429 says the tenant is
	// out of budget (X-RateLimit-Reset and Retry-After); 0 means until the
	// token bucket holds a token again.
	RetryAfter time.Duration
	// MalformedJSON processes the request, then truncates the JSON body
	// (status unchanged), as a response cut off in transit.
	MalformedJSON bool
	// Body, when non-nil, replaces the response body after processing
	// (status unchanged), e.g. a user with email_verified of the wrong type.
	Body []byte
	// Hold, when non-nil, keeps the processed response until the channel is
	// closed (or the client gives up, ClearFaults, Close). With Processed it
	// makes a race deterministic: the GET has read the store, the test
	// writes, then releases the stale answer.
	Hold <-chan struct{}
	// Processed, when non-nil, receives one value per faulted request once
	// it has been processed, before Latency and Hold. The send waits for a
	// receiver (or the client giving up).
	Processed chan<- struct{}
	// Times is how many requests get the fault; 0 means until cleared.
	Times int
}

type activeFault struct {
	fault     Fault
	remaining int // meaningful when fault.Times > 0
}

// RecordedPatch is one PATCH /api/v2/users/{id} request as received.
type RecordedPatch struct {
	UserID string // unescaped
	Body   []byte // raw, exactly as sent
}

// SetFault injects f into every following request to r (or the next
// f.Times ones), replacing any earlier fault on r.
func (s *Server) SetFault(r Route, f Fault) {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	s.faults[r] = &activeFault{fault: f, remaining: f.Times}
	s.cfg.Logf("auth0emu: fault set on %s: %+v", r, f)
}

// ClearFaults removes every fault and releases hung and held requests.
func (s *Server) ClearFaults() {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	clear(s.faults)
	close(s.release)
	s.release = make(chan struct{})
	s.cfg.Logf("auth0emu: faults cleared")
}

// takeFault returns the fault for one request to r, if any, consuming one
// of its Times, together with the channel that ClearFaults closes.
func (s *Server) takeFault(r Route) (Fault, bool, <-chan struct{}) {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	af, ok := s.faults[r]
	if !ok {
		return Fault{}, false, s.release
	}
	if af.fault.Times > 0 {
		af.remaining--
		if af.remaining <= 0 {
			delete(s.faults, r)
		}
	}
	return af.fault, true, s.release
}

// Count is how many requests r received since start or ResetCounters,
// including those answered by a fault, a 401 or a 429.
func (s *Server) Count(r Route) int {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	return s.counts[r]
}

// Counts is Count for every route that was called.
func (s *Server) Counts() map[Route]int {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	out := make(map[Route]int, len(s.counts))
	for r, n := range s.counts {
		out[r] = n
	}
	return out
}

// Patches returns every PATCH body received since start or ResetCounters,
// in arrival order, whether or not it was accepted.
func (s *Server) Patches() []RecordedPatch {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	out := make([]RecordedPatch, len(s.patches))
	for i, p := range s.patches {
		out[i] = RecordedPatch{UserID: p.UserID, Body: slices.Clone(p.Body)}
	}
	return out
}

// ResetCounters zeroes every Count and forgets recorded Patches.
func (s *Server) ResetCounters() {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	clear(s.counts)
	s.patches = nil
}

func (s *Server) observe(r Route, userID string, body []byte) {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	s.counts[r]++
	if r == RoutePatchUser {
		s.patches = append(s.patches, RecordedPatch{UserID: userID, Body: slices.Clone(body)})
	}
}

// wait blocks until ch is closed (nil blocks forever), the request is
// cancelled, faults are cleared or the server closes. It reports whether the
// request may still be answered.
func (s *Server) wait(ctx context.Context, ch <-chan struct{}, release <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-release:
		return true
	case <-ctx.Done():
		return false
	case <-s.closed:
		return false
	}
}

func (s *Server) sleep(ctx context.Context, d time.Duration, release <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-release:
		return true
	case <-ctx.Done():
		return false
	case <-s.closed:
		return false
	}
}
