package auth0emu

import (
	"crypto/rand"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// sessionCookie is the login session on the emulator's origin, named as
	// Auth0 names its own; it is what makes prompt=none (silent
	// authentication) and single sign-on work.
	sessionCookie = "auth0"
	// browserCookie binds a login transaction to the browser that started
	// it, so a login form cannot be replayed from another one (login CSRF).
	browserCookie = "auth0emu_browser"

	// sessionTTL is Auth0's default absolute session lifetime.
	sessionTTL = 7 * 24 * time.Hour
	// loginTxTTL bounds how long a login page may stay open.
	loginTxTTL = 30 * time.Minute
	// codeTTL is the authorization code's lifetime. Auth0 publishes none;
	// RFC 6749 asks for a short one (10 minutes at most), and a real client
	// redeems its code within a second.
	codeTTL = time.Minute
	// refreshTokenTTL is Auth0's default absolute refresh-token lifetime.
	refreshTokenTTL = 30 * 24 * time.Hour
)

// authState is everything Universal Login remembers: login sessions,
// pending login transactions, authorization codes and refresh tokens. One
// mutex guards it all; the maps are small and every entry expires.
type authState struct {
	mu       sync.Mutex
	sessions map[string]*session
	txs      map[string]*loginTx
	codes    map[string]*authCode
	refresh  map[string]*refreshToken
	revoked  map[string]time.Time // refresh-token families revoked by reuse detection → the family's expiry
}

func newAuthState() *authState {
	return &authState{
		sessions: map[string]*session{},
		txs:      map[string]*loginTx{},
		codes:    map[string]*authCode{},
		refresh:  map[string]*refreshToken{},
		revoked:  map[string]time.Time{},
	}
}

// session is a signed-in browser.
type session struct {
	userID   string
	authTime time.Time // of the interactive login that opened it
	expires  time.Time
}

// prune drops expired entries; called with mu held on every insert, so the
// maps stay bounded by what is live.
func (a *authState) prune(now time.Time) {
	for k, v := range a.sessions {
		if !now.Before(v.expires) {
			delete(a.sessions, k)
		}
	}
	for k, v := range a.txs {
		if !now.Before(v.expires) {
			delete(a.txs, k)
		}
	}
	for k, v := range a.codes {
		if !now.Before(v.expires) {
			delete(a.codes, k)
		}
	}
	for k, v := range a.refresh {
		if !now.Before(v.expires) {
			delete(a.refresh, k)
		}
	}
	for k, exp := range a.revoked {
		if !now.Before(exp) {
			delete(a.revoked, k)
		}
	}
}

// openSession starts a session for a user who just logged in or signed up
// and returns its cookie.
func (s *Server) openSession(userID string) (*session, *http.Cookie) {
	now := s.now()
	sess := &session{userID: userID, authTime: now, expires: now.Add(sessionTTL)}
	id := rand.Text()
	s.auth.mu.Lock()
	s.auth.prune(now)
	s.auth.sessions[id] = sess
	s.auth.mu.Unlock()
	c := s.cookie(sessionCookie, id)
	// Max-Age, which browsers and cookie jars prefer to Expires, counts on
	// the client's clock: a client whose clock differs from the tenant's
	// (or a test that pins the tenant's) keeps the session for its length.
	c.Expires = sess.expires
	c.MaxAge = int(sessionTTL / time.Second)
	return sess, c
}

// currentSession returns the live session of the browser, or nil. A
// session whose user was deleted or blocked is no session.
func (s *Server) currentSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	now := s.now()
	s.auth.mu.Lock()
	sess, ok := s.auth.sessions[c.Value]
	if ok && !now.Before(sess.expires) {
		delete(s.auth.sessions, c.Value)
		ok = false
	}
	s.auth.mu.Unlock()
	if !ok {
		return nil
	}
	u, found := s.User(sess.userID)
	if blocked, _ := u["blocked"].(bool); !found || blocked {
		return nil
	}
	return sess
}

// cookie is an HttpOnly cookie on the emulator's origin. Over https it is
// SameSite=None; Secure, as Auth0's is, so the silent-authentication iframe
// of an app on another site still sends it; over plain http a browser
// refuses SameSite=None without Secure, so it is Lax, which works when the
// app and the emulator share a site (localhost:5173 and localhost:8081 do;
// localhost and 127.0.0.1 do not).
func (s *Server) cookie(name, value string) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if strings.HasPrefix(s.URL(), "https://") {
		c.Secure = true
		c.SameSite = http.SameSiteNoneMode
	}
	return c
}

// logout serves GET /v2/logout: it ends the session and sends the browser
// to returnTo, which must be an allowed logout URL exactly.
func (s *Server) logout(req request) response {
	q := req.URL.Query()
	returnTo := q.Get("returnTo")
	if id := q.Get("client_id"); id != "" && id != s.cfg.ClientID {
		return errorPage(http.StatusBadRequest, "invalid_request", "The client_id is unknown.")
	}
	if returnTo != "" && !containsExact(s.cfg.LogoutURLs, returnTo) {
		// Never an open redirect: an unlisted returnTo is refused before the
		// session ends, so nothing a link can trigger changes state.
		return errorPage(http.StatusBadRequest, "invalid_request",
			"The \"returnTo\" querystring parameter is not defined as a valid URL in \"Allowed Logout URLs\".")
	}
	if c, err := req.Cookie(sessionCookie); err == nil {
		s.auth.mu.Lock()
		delete(s.auth.sessions, c.Value)
		s.auth.mu.Unlock()
	}
	var resp response
	if returnTo != "" {
		resp = redirect(returnTo)
	} else {
		resp = page(http.StatusOK, loggedOutPage, nil)
	}
	cleared := s.cookie(sessionCookie, "")
	cleared.MaxAge = -1
	resp.header.Add("Set-Cookie", cleared.String())
	return resp
}

func containsExact(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

func redirect(location string) response {
	h := http.Header{}
	h.Set("Location", location)
	h.Set("Cache-Control", "no-store")
	return response{status: http.StatusFound, header: h}
}
