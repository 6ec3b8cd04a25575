package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// gqlIn posts one operation as gql does, with an Accept-Language header.
func (e *testEnv) gqlIn(acceptLanguage, token, query string, vars map[string]any) *gqlResponse {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept-Language", acceptLanguage)
	return e.do(req)
}

// TestPromptAndErrorsFollowAcceptLanguage: through the real server, the
// prompt is English by default and German when the request prefers it
// (quality weights respected, an unknown language falls back to English),
// a user error comes back in German, and Content-Language says which.
func TestPromptAndErrorsFollowAcceptLanguage(t *testing.T) {
	e := startService(t)
	token := e.login("new@example.com")
	const prompt = `{ viewer { pendingFields { key label placeholder reason } } }`
	for _, tt := range []struct {
		header, lang, label, placeholder, reason string
	}{
		{"", "en", "First name", "Ada", "Asked when you sign up"},
		{"de", "de", "Vorname", "Ada", "Gefragt bei Ihrer Registrierung"},
		{"fr-FR, de;q=0.9, en;q=0.8", "de", "Vorname", "Ada", "Gefragt bei Ihrer Registrierung"},
		{"en;q=0.9, de;q=0.5", "en", "First name", "Ada", "Asked when you sign up"},
		{"ja", "en", "First name", "Ada", "Asked when you sign up"},
	} {
		resp := e.gqlIn(tt.header, token, prompt, nil)
		data := resp.mustData(t)
		first := path(data, "viewer", "pendingFields").([]any)[0].(map[string]any)
		if first["key"] != "firstName" || first["label"] != tt.label || first["placeholder"] != tt.placeholder || first["reason"] != tt.reason {
			t.Errorf("Accept-Language %q: first pending field = %v", tt.header, first)
		}
		if got := resp.Header.Get("Content-Language"); got != tt.lang {
			t.Errorf("Accept-Language %q: Content-Language = %q, want %q", tt.header, got, tt.lang)
		}
	}

	const answer = `mutation($input: UpdateProfileInput!) {
  updateProfile(input: $input) { pendingFields { key label } userErrors { field code message } }
}`
	resp := e.gqlIn("de-DE,de;q=0.9", token, answer, map[string]any{"input": map[string]any{"firstName": "Ada", "phone": "12"}})
	data := resp.mustData(t)
	errs := path(data, "updateProfile", "userErrors").([]any)
	if len(errs) != 1 {
		t.Fatalf("userErrors = %v", errs)
	}
	ue := errs[0].(map[string]any)
	if ue["code"] != "INVALID_PHONE" || ue["message"] != "Telefon muss eine gültige Telefonnummer mit Ländervorwahl sein, z. B. +49 30 901820" {
		t.Errorf("user error = %v", ue)
	}
	if got := path(data, "updateProfile", "pendingFields").([]any)[0].(map[string]any)["label"]; got != "Vorname" {
		t.Errorf("next pending label = %v", got)
	}
	if resp.Header.Get("Content-Language") != "de" {
		t.Errorf("Content-Language = %q", resp.Header.Get("Content-Language"))
	}
	// The same error without the header is English.
	resp = e.gql(token, answer, map[string]any{"input": map[string]any{"phone": "12"}})
	ue = path(resp.mustData(t), "updateProfile", "userErrors").([]any)[0].(map[string]any)
	if ue["message"] != "Phone must be a valid phone number with its country code, e.g. +44 20 7946 0958" {
		t.Errorf("English user error = %v", ue)
	}
}
