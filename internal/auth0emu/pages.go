package auth0emu

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"html/template"
	"net/http"
)

// pages.html holds Universal Login's pages. They work without JavaScript
// (plain forms and links); only the web_message answer is a script, since
// posting a message is what it is for.
//
//go:embed pages.html
var pagesHTML string

var pages = template.Must(template.New("pages").Parse(pagesHTML))

const loggedOutPage = "loggedout"

// page renders a named template. Pages are never cached and never framed,
// so a login form cannot be overlaid (clickjacking).
func page(status int, name string, data any) response {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		panic("auth0emu: render " + name + ": " + err.Error()) // templates are fixed at build time
	}
	h := http.Header{}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	return response{status: status, header: h, body: buf.Bytes()}
}

func loginPage(status int, screen, state, email, errMsg string) response {
	title := "Log in"
	if screen == "signup" {
		title = "Sign up"
	}
	return page(status, "login", map[string]string{
		"Title": title, "Screen": screen, "State": state, "Email": email, "Error": errMsg,
	})
}

func expiredLoginPage() response {
	return errorPage(http.StatusBadRequest, "invalid_request",
		"This login page has expired or was opened in another browser. Go back to the application and sign in again.")
}

// errorPage is what Auth0 shows when it cannot send an error back to the
// application (an unknown client, a redirect_uri that is not allowed).
func errorPage(status int, code, description string) response {
	return page(status, "error", map[string]string{"Code": code, "Description": description})
}

// webMessagePage answers response_mode=web_message: the silent
// authentication iframe (or login popup) posts the result to the app's
// origin only, and may be framed by it alone.
func webMessagePage(origin string, result map[string]string) response {
	nonce := rand.Text()
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, "webmessage", map[string]any{
		"Nonce": nonce, "Origin": origin, "Response": result,
	}); err != nil {
		panic("auth0emu: render webmessage: " + err.Error())
	}
	h := http.Header{}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; frame-ancestors "+origin)
	return response{status: http.StatusOK, header: h, body: buf.Bytes()}
}
