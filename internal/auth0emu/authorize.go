package auth0emu

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

const (
	responseModeQuery      = "query"
	responseModeWebMessage = "web_message"
)

// authzRequest is a validated /authorize request, kept in a login
// transaction while the user signs in.
type authzRequest struct {
	redirectURI  string
	responseMode string
	state        string
	nonce        string
	scope        string
	audience     string
	challenge    string // S256 code_challenge; empty for a confidential client without PKCE
	loginHint    string
}

// loginTx is a login page waiting for the user's credentials.
type loginTx struct {
	req     authzRequest
	browser string // the browserCookie value of the browser that opened it
	expires time.Time
}

// pkceChallenge is what S256 produces: 32 bytes of SHA-256, base64url
// without padding.
var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// authorizeEndpoint serves GET /authorize, Universal Login's entry point. What
// cannot be sent back to the app (an unknown client, a redirect_uri that is
// not allowed) is an error page; every later refusal goes to the validated
// redirect_uri with the app's state, as Auth0 answers.
func (s *Server) authorizeEndpoint(req request) response {
	q := req.URL.Query()
	if id := q.Get("client_id"); id == "" {
		return errorPage(http.StatusBadRequest, "invalid_request", "Missing required parameter: client_id")
	} else if id != s.cfg.ClientID {
		return errorPage(http.StatusBadRequest, "invalid_request", "Unknown client: "+id)
	}
	ar := authzRequest{
		redirectURI:  q.Get("redirect_uri"),
		responseMode: q.Get("response_mode"),
		state:        q.Get("state"),
		nonce:        q.Get("nonce"),
		scope:        strings.Join(strings.Fields(q.Get("scope")), " "),
		audience:     q.Get("audience"),
		challenge:    q.Get("code_challenge"),
		loginHint:    q.Get("login_hint"),
	}
	if ar.redirectURI == "" {
		return errorPage(http.StatusBadRequest, "invalid_request", "Missing required parameter: redirect_uri")
	}
	if !s.allowedRedirect(ar.redirectURI, ar.responseMode) {
		// Never redirect to an unregistered URI, not even with an error.
		return errorPage(http.StatusBadRequest, "invalid_request",
			"Callback URL mismatch. "+ar.redirectURI+" is not in the list of allowed callback URLs.")
	}
	switch ar.responseMode {
	case "":
		ar.responseMode = responseModeQuery
	case responseModeQuery, responseModeWebMessage:
	default:
		mode := ar.responseMode
		ar.responseMode = responseModeQuery
		return s.deliverError(ar, "invalid_request", "Unsupported response_mode: "+mode)
	}
	if rt := q.Get("response_type"); rt != "code" {
		return s.deliverError(ar, "unsupported_response_type", "Unsupported response_type: "+rt+"; only the authorization code flow (code) is supported")
	}
	method := q.Get("code_challenge_method")
	switch {
	case ar.challenge == "" && method != "":
		return s.deliverError(ar, "invalid_request", "code_challenge_method was sent without a code_challenge")
	case ar.challenge != "" && method != "S256":
		// RFC 7636: an absent method means plain, which exposes the verifier.
		return s.deliverError(ar, "invalid_request", "Unsupported code_challenge_method: only S256 is allowed")
	case ar.challenge != "" && !pkceChallenge.MatchString(ar.challenge):
		return s.deliverError(ar, "invalid_request", "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)")
	}
	if ar.audience == "" {
		ar.audience = s.cfg.Audience // the tenant's default audience
	}
	if ar.audience != s.cfg.Audience {
		return s.deliverError(ar, "access_denied", "Service not found: "+ar.audience)
	}
	if ar.scope == "" {
		ar.scope = "openid"
	}

	prompt := strings.Fields(q.Get("prompt"))
	sess := s.currentSession(req.Request)
	switch {
	case containsExact(prompt, "none") && sess == nil:
		return s.deliverError(ar, "login_required", "Login required")
	case containsExact(prompt, "none"), sess != nil && !containsExact(prompt, "login"):
		// Silent authentication and single sign-on: no credentials were
		// entered, so this is not a login (logins_count stays).
		return s.issueCode(ar, sess.userID, sess.authTime)
	}
	screen := "login"
	if q.Get("screen_hint") == "signup" {
		screen = "signup"
	}
	return s.startLogin(req, ar, screen)
}

// allowedRedirect checks redirect_uri exactly: against the callback URLs,
// and for web_message also against the web origins, which is where Auth0
// lets silent authentication answer.
func (s *Server) allowedRedirect(uri, mode string) bool {
	if containsExact(s.cfg.CallbackURLs, uri) {
		return true
	}
	return mode == responseModeWebMessage && containsExact(s.cfg.WebOrigins, uri)
}

// startLogin opens a login transaction and shows its page.
func (s *Server) startLogin(req request, ar authzRequest, screen string) response {
	browser := ""
	if c, err := req.Cookie(browserCookie); err == nil && len(c.Value) >= 16 {
		browser = c.Value
	}
	fresh := browser == ""
	if fresh {
		browser = rand.Text()
	}
	now := s.now()
	tx := rand.Text()
	s.auth.mu.Lock()
	s.auth.prune(now)
	s.auth.txs[tx] = &loginTx{req: ar, browser: browser, expires: now.Add(loginTxTTL)}
	s.auth.mu.Unlock()
	resp := loginPage(http.StatusOK, screen, tx, ar.loginHint, "")
	if fresh {
		resp.header.Add("Set-Cookie", s.cookie(browserCookie, browser).String())
	}
	return resp
}

// loginTxFor returns the live transaction a form names, if the browser
// posting it is the one that opened it.
func (s *Server) loginTxFor(req request, id string) (*loginTx, bool) {
	c, err := req.Cookie(browserCookie)
	if err != nil || id == "" {
		return nil, false
	}
	now := s.now()
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	tx, ok := s.auth.txs[id]
	if !ok || !now.Before(tx.expires) || !equalSecret(c.Value, tx.browser) {
		return nil, false
	}
	return tx, true
}

func (s *Server) endLoginTx(id string) {
	s.auth.mu.Lock()
	delete(s.auth.txs, id)
	s.auth.mu.Unlock()
}

// loginScreen serves GET /u/login and GET /u/signup: the same transaction
// on the other screen (the page's "Sign up" and "Log in" links).
func (s *Server) loginScreen(screen string) routeHandler {
	return func(req request) response {
		id := req.URL.Query().Get("state")
		tx, ok := s.loginTxFor(req, id)
		if !ok {
			return expiredLoginPage()
		}
		return loginPage(http.StatusOK, screen, id, tx.req.loginHint, "")
	}
}

// submitLogin serves POST /u/login: email and password. This is an
// interactive login, so it counts (logins_count, last_login).
func (s *Server) submitLogin(req request) response {
	form, _ := url.ParseQuery(string(req.body))
	id := form.Get("state")
	tx, ok := s.loginTxFor(req, id)
	if !ok {
		return expiredLoginPage()
	}
	email := strings.TrimSpace(form.Get("email"))
	if email == "" || form.Get("password") == "" {
		return loginPage(http.StatusBadRequest, "login", id, email, "Enter your email and password.")
	}
	u, failed := s.login(email, form.Get("password"), "")
	if failed != nil {
		msg := "Wrong email or password."
		if failed.status == http.StatusUnauthorized {
			msg = "Your account has been blocked."
		}
		return loginPage(http.StatusUnauthorized, "login", id, email, msg)
	}
	s.endLoginTx(id)
	userID, _ := u["user_id"].(string)
	return s.signedIn(tx.req, userID)
}

// submitSignup serves POST /u/signup: a new user in the database
// connection, signed in at once; Auth0 counts the sign-up as the first
// login.
func (s *Server) submitSignup(req request) response {
	form, _ := url.ParseQuery(string(req.body))
	id := form.Get("state")
	tx, ok := s.loginTxFor(req, id)
	if !ok {
		return expiredLoginPage()
	}
	email := strings.TrimSpace(form.Get("email"))
	password := form.Get("password")
	if email == "" || password == "" {
		return loginPage(http.StatusBadRequest, "signup", id, email, "Enter an email and a password.")
	}
	u, err := s.CreateUser(NewUser{Connection: DatabaseConnection, Email: email, Password: password})
	if err != nil {
		msg := "The sign-up failed."
		if apiErr, ok := err.(*APIError); ok {
			msg = apiErr.Message
			if apiErr.StatusCode == http.StatusConflict {
				msg = "The user already exists."
			}
		}
		return loginPage(http.StatusBadRequest, "signup", id, email, msg)
	}
	userID, _ := u["user_id"].(string)
	s.countLogin(userID)
	s.endLoginTx(id)
	return s.signedIn(tx.req, userID)
}

// signedIn opens the session of a user who just entered credentials and
// answers the app.
func (s *Server) signedIn(ar authzRequest, userID string) response {
	sess, c := s.openSession(userID)
	resp := s.issueCode(ar, userID, sess.authTime)
	resp.header.Add("Set-Cookie", c.String())
	return resp
}

// issueCode mints a single-use authorization code bound to the client,
// the redirect_uri and the PKCE challenge, and delivers it.
func (s *Server) issueCode(ar authzRequest, userID string, authTime time.Time) response {
	now := s.now()
	code := rand.Text()
	s.auth.mu.Lock()
	s.auth.prune(now)
	s.auth.codes[code] = &authCode{
		clientID: s.cfg.ClientID, req: ar, userID: userID, authTime: authTime, expires: now.Add(codeTTL),
	}
	s.auth.mu.Unlock()
	return s.deliver(ar, url.Values{"code": {code}})
}

func (s *Server) deliverError(ar authzRequest, code, description string) response {
	return s.deliver(ar, url.Values{"error": {code}, "error_description": {description}})
}

// deliver answers the app at its (already validated) redirect_uri, with the
// state exactly as it came: in the query, or for web_message as the
// postMessage auth0-spa-js's iframe and popup listen for,
// {type: "authorization_response", response: {code, state}}.
func (s *Server) deliver(ar authzRequest, params url.Values) response {
	if ar.state != "" {
		params.Set("state", ar.state)
	}
	if ar.responseMode == responseModeWebMessage {
		payload := map[string]string{}
		for k := range params {
			payload[k] = params.Get(k)
		}
		return webMessagePage(originOf(ar.redirectURI), payload)
	}
	target := ar.redirectURI
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return redirect(target + sep + params.Encode())
}
