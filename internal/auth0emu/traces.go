package auth0emu

import "sync"

// maxTraceparents is how many traceparent headers Traceparents keeps per
// route, newest last.
const maxTraceparents = 32

// traceLog keeps the last W3C traceparent headers each route received, so
// a test can prove the service propagates its trace to Auth0. Its zero
// value is ready.
type traceLog struct {
	mu     sync.Mutex
	byPath map[Route][]string
}

func (l *traceLog) record(r Route, traceparent string) {
	if traceparent == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byPath == nil {
		l.byPath = map[Route][]string{}
	}
	got := append(l.byPath[r], traceparent)
	if len(got) > maxTraceparents {
		got = got[len(got)-maxTraceparents:]
	}
	l.byPath[r] = got
}

// Traceparents returns the traceparent headers of the last requests to r
// that had one (up to 32, oldest first).
func (s *Server) Traceparents(r Route) []string {
	s.traces.mu.Lock()
	defer s.traces.mu.Unlock()
	return append([]string(nil), s.traces.byPath[r]...)
}
