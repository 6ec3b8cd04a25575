// Package dryrun is the product team's dry-run of the rules over HTTP, for
// trusted tools: POST a described user (as Auth0's Management API returns
// one), an interaction context and, optionally, a rules file, and get back
// for every catalogue field whether it would be pending and why. No Auth0
// call is made and nothing is written. It is the same evaluation production
// runs (profiling.Profile.Explain), and the same as `go run ./cmd/rules
// explain`, so an answer here cannot disagree with the real one.
//
// Callers authenticate with a client-credentials token for the API that
// grants the Scope permission; end users' tokens are refused (403).
package dryrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/progressive-profiling/bff/auth"
	"github.com/progressive-profiling/bff/auth0store"
	"github.com/progressive-profiling/bff/profiling"
)

// Scope is the permission a caller's token must grant.
const Scope = "profiling:explain"

// maxBody bounds a request: a user document and a rules file.
const maxBody = 512 << 10

// Options is what the endpoint runs with.
type Options struct {
	// Rules are the service's rules, used when a request brings none.
	Rules *profiling.Rules
	// Schema is what the API's input accepts, to load a request's rules as
	// start-up would.
	Schema profiling.InputSchema
	// Verifier checks the caller's token.
	Verifier *auth.Verifier
	// Now is the clock; a request may name another moment.
	Now func() time.Time
}

// request is the body of POST /rules/explain.
type request struct {
	User    json.RawMessage `json:"user"`
	Context string          `json:"context"`
	Now     string          `json:"now"`
	Rules   string          `json:"rules"`
}

// field is one field's explanation in the answer.
type field struct {
	Key         string   `json:"key"`
	Pending     bool     `json:"pending"`
	Status      string   `json:"status"`
	Text        string   `json:"text"`
	Stage       string   `json:"stage,omitempty"`
	FalseStages []string `json:"falseStages,omitempty"`
}

type response struct {
	RulesVersion string   `json:"rulesVersion"`
	Context      string   `json:"context"`
	At           string   `json:"at"`
	Pending      []string `json:"pending"` // in the order pendingFields asks them
	Fields       []field  `json:"fields"`
}

// Handler returns the endpoint.
func Handler(o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			fail(w, http.StatusMethodNotAllowed, "use POST with a JSON body")
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="profiling", scope="`+Scope+`"`)
			fail(w, http.StatusUnauthorized, "a client-credentials access token with the "+Scope+" permission is required")
			return
		}
		switch _, err := o.Verifier.VerifyClient(r.Context(), strings.TrimSpace(token), Scope); {
		case errors.Is(err, auth.ErrNotAClient):
			fail(w, http.StatusForbidden, "this endpoint is for trusted tools with a client-credentials token, not for end users")
			return
		case errors.Is(err, auth.ErrScope):
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+Scope+`"`)
			fail(w, http.StatusForbidden, "the token does not grant the "+Scope+" permission")
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			fail(w, http.StatusUnauthorized, "the access token is invalid or expired")
			return
		}
		var req request
		dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			fail(w, http.StatusBadRequest, "the body must be one JSON object with user, and optionally context, now and rules: "+err.Error())
			return
		}
		if len(req.User) == 0 {
			fail(w, http.StatusBadRequest, "user is required: a user as Auth0's Management API returns it")
			return
		}
		u, err := auth0store.DecodeUser(req.User)
		if err != nil {
			fail(w, http.StatusBadRequest, "user: "+err.Error())
			return
		}
		at := o.Now()
		if req.Now != "" {
			if at, err = time.Parse(time.RFC3339, req.Now); err != nil {
				fail(w, http.StatusBadRequest, fmt.Sprintf("now: %q is not an RFC 3339 time", req.Now))
				return
			}
		}
		rules := o.Rules
		if req.Rules != "" {
			if rules, err = profiling.ParseRules("request rules", []byte(req.Rules), o.Schema); err != nil {
				fail(w, http.StatusUnprocessableEntity, err.Error()) // every problem, with line numbers
				return
			}
		}
		profile := rules.Profile(u, at)
		pending, err := profile.Pending(req.Context, nil) // what pendingFields answers, in its order
		if err != nil {
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		explained, err := profile.Explain(req.Context)
		if err != nil {
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		out := response{RulesVersion: rules.Version(), Context: req.Context, At: at.UTC().Format(time.RFC3339), Pending: []string{}}
		for _, p := range pending {
			out.Pending = append(out.Pending, p.Field.Key)
		}
		for _, e := range explained {
			out.Fields = append(out.Fields, field{Key: e.Field.Key, Pending: e.Pending, Status: string(e.Status),
				Text: e.Text, Stage: e.Stage, FalseStages: e.FalseStages})
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(out)
	})
}

func fail(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": message})
}
