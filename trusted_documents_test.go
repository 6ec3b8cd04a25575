package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/syncbuf"
)

// exampleManifest is the React example's manifest, as GraphQL Code
// Generator's client preset writes it ("sha256:<hex>" keys): the service
// must run exactly what a real client's build produced.
const exampleManifest = "examples/react/src/gql/persisted-documents.json"

// manifestEntry returns the hash (without its "sha256:" prefix) and the
// document of the manifest operation named name.
func manifestEntry(t *testing.T, name string) (hash, doc string) {
	t.Helper()
	raw, err := os.ReadFile(exampleManifest)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range m {
		if strings.Contains(v, "query "+name+" ") || strings.Contains(v, "query "+name+"(") || strings.Contains(v, "mutation "+name+"(") {
			return strings.TrimPrefix(k, "sha256:"), v
		}
	}
	t.Fatalf("no operation %s in %s", name, exampleManifest)
	return "", ""
}

func (e *testEnv) postBody(token string, body map[string]any) *gqlResponse {
	e.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return e.do(req)
}

func (e *testEnv) getQuery(token string, v url.Values) *gqlResponse {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/graphql?"+v.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.do(req)
}

// mustBeUntrusted fails the test unless r is the trusted-documents refusal.
func (r *gqlResponse) mustBeUntrusted(t *testing.T, what string) {
	t.Helper()
	if r.Status != http.StatusUnprocessableEntity || r.code(0) != "GRAPHQL_VALIDATION_FAILED" || r.Data != nil ||
		len(r.Errors) != 1 || r.Errors[0].Extensions["limit"] != "trusted_documents" {
		t.Errorf("%s: want 422 GRAPHQL_VALIDATION_FAILED with extensions.limit trusted_documents, got %d %s", what, r.Status, r.Raw)
	}
}

// With GRAPHQL_TRUSTED_DOCUMENTS set to the React example's manifest, its
// operations run by hash (Apollo's extensions.persistedQuery, by POST and
// GET, and documentId) and by their exact text, mutations included; any
// other document is refused before it is parsed (an unparseable one gets the
// same refusal, not a parse error), no resolver runs, and each refusal is
// counted.
func TestTrustedDocumentsOnlyRunsTheManifest(t *testing.T) {
	e := startService(t, withEnv("GRAPHQL_TRUSTED_DOCUMENTS", exampleManifest))
	token := e.login("returning@example.com")
	hash, doc := manifestEntry(t, "Prompt")
	vars := map[string]any{"context": "article"}
	want := func(r *gqlResponse, how string) {
		t.Helper()
		data := r.mustData(t)
		if path(data, "viewer", "email") != "returning@example.com" || !equal(keys(path(data, "viewer", "pendingFields")), []string{"subscribed", "company", "title"}) {
			t.Errorf("%s: %s", how, r.Raw)
		}
	}
	before := e.scrapeMetrics(t)

	want(e.postPersisted(token, "", hash, vars), "by hash (POST)")
	want(e.getPersisted(token, hash, vars), "by hash (GET)")
	want(e.postBody(token, map[string]any{"documentId": "sha256:" + hash, "variables": vars}), "by documentId (POST)")
	v, _ := json.Marshal(vars)
	want(e.getQuery(token, url.Values{"documentId": {hash}, "variables": {string(v)}}), "by documentId (GET)")
	want(e.gql(token, doc, vars), "by its exact text")
	// Apollo's link sending the hash with its text, as after a miss.
	want(e.postPersisted(token, doc, hash, vars), "hash and text")

	answerHash, _ := manifestEntry(t, "Answer")
	r := e.postPersisted(token, "", answerHash, map[string]any{"input": map[string]any{"company": "Analytical Engines Ltd"}})
	if data := r.mustData(t); len(path(data, "updateProfile", "userErrors").([]any)) != 0 {
		t.Errorf("mutation by hash: %s", r.Raw)
	}
	patches := len(e.emu.Patches())
	if got := e.emu.Patches(); patches == 0 || !strings.Contains(string(got[patches-1].Body), "Analytical Engines Ltd") {
		t.Errorf("the trusted mutation did not reach Auth0: %v", got)
	}
	// A trusted mutation by hash over GET is still a mutation over GET.
	if r := e.getPersisted(token, answerHash, map[string]any{"input": map[string]any{"company": "X"}}); r.Status < 400 || r.Data != nil {
		t.Errorf("hashed mutation by GET: %d %s", r.Status, r.Raw)
	}

	refusedBefore := e.scrapeMetrics(t)
	e.gql(token, `{ viewer { email } }`, nil).mustBeUntrusted(t, "an ad-hoc query")
	e.gql(token, doc+" ", vars).mustBeUntrusted(t, "a manifest document plus a space")
	e.gql(token, `{ viewer { email `, nil).mustBeUntrusted(t, "an unparseable document (refused before parsing)")
	e.gql(token, "{ viewer { "+strings.Repeat("email ", 2000)+"} }", nil).mustBeUntrusted(t, "a document over the token limit (refused before parsing)")
	e.gql(token, `mutation { updateProfile(input: {company: "Evil"}) { userErrors { code } } }`, nil).mustBeUntrusted(t, "an ad-hoc mutation")
	e.postPersisted(token, "", sha256Hex("{ viewer { email } }"), nil).mustBeUntrusted(t, "an unknown hash (no PERSISTED_QUERY_NOT_FOUND invitation to send it)")
	e.postPersisted(token, "{ viewer { email } }", sha256Hex("{ viewer { email } }"), nil).mustBeUntrusted(t, "APQ registration")
	e.postBody(token, map[string]any{"documentId": "sha256:" + strings.Repeat("0", 64)}).mustBeUntrusted(t, "an unknown documentId")
	e.getQuery(token, url.Values{"query": {`{ viewer { email } }`}}).mustBeUntrusted(t, "an ad-hoc query by GET")
	e.getQuery(token, url.Values{"query": {`{ viewer {`}}).mustBeUntrusted(t, "an unparseable query by GET")

	after := e.scrapeMetrics(t)
	if got := after[`bff_graphql_operations_refused_total{limit="trusted_documents"}`] - refusedBefore[`bff_graphql_operations_refused_total{limit="trusted_documents"}`]; got != 10 {
		t.Errorf("trusted_documents refusals counted %v, want 10", got)
	}
	if ran := after.sum("bff_graphql_root_field_calls_total") - refusedBefore.sum("bff_graphql_root_field_calls_total"); ran != 0 {
		t.Errorf("refused documents ran %v root fields", ran)
	}
	if before.sum("bff_graphql_operations_refused_total") != 0 {
		t.Errorf("refusals before the test: %v", before)
	}
	if got := len(e.emu.Patches()); got != patches {
		t.Errorf("untrusted documents sent %d PATCHes to Auth0", got-patches)
	}
}

// GRAPHQL_TRUSTED_DOCUMENTS_ONLY=false resolves the manifest's hashes
// (without registering them as automatic persisted queries) and lets other
// documents run as before: the rollout step before enforcing.
func TestTrustedDocumentsWithoutEnforcing(t *testing.T) {
	e := startService(t, withEnv("GRAPHQL_TRUSTED_DOCUMENTS", exampleManifest), withEnv("GRAPHQL_TRUSTED_DOCUMENTS_ONLY", "false"))
	token := e.login("new@example.com")
	hash, _ := manifestEntry(t, "Prompt")
	if data := e.postPersisted(token, "", hash, nil).mustData(t); path(data, "viewer", "email") != "new@example.com" {
		t.Errorf("by hash: %v", data)
	}
	if data := e.gql(token, `{ viewer { email } }`, nil).mustData(t); path(data, "viewer", "email") != "new@example.com" {
		t.Errorf("ad hoc: %v", data)
	}
	if r := e.postPersisted(token, "", sha256Hex("{ viewer { id } }"), nil); r.code(0) != "PERSISTED_QUERY_NOT_FOUND" {
		t.Errorf("an unknown hash goes to automatic persisted queries: %s", r.Raw)
	}
}

// A manifest that cannot be trusted stops start-up with the variable's name
// and what is wrong, before the service listens.
func TestTrustedDocumentsManifestIsLoadedStrictly(t *testing.T) {
	dir := t.TempDir()
	const doc = `query Q { viewer { id } }`
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ name, content, want string }{
		{"missing", "", "no such file"},
		{"array", `["` + doc + `"]`, "not a JSON object"},
		{"empty", `{}`, "holds no document"},
		{"wrong hash", `{"sha256:` + sha256Hex("other") + `": "` + doc + `"}`, "is not the SHA-256 of its document"},
		{"not a hash", `{"Q": "` + doc + `"}`, "is not a SHA-256 hash"},
		{"upper-case hex", `{"` + strings.ToUpper(sha256Hex(doc)) + `": "` + doc + `"}`, "is not a SHA-256 hash"},
		{"not a string", `{"` + sha256Hex(doc) + `": 1}`, "is not a string"},
		{"duplicate", `{"` + sha256Hex(doc) + `": "` + doc + `", "sha256:` + sha256Hex(doc) + `": "` + doc + `"}`, "appears twice"},
		{"trailing", `{"` + sha256Hex(doc) + `": "` + doc + `"} {}`, "data after"},
		{"truncated", `{"` + sha256Hex(doc) + `": "` + doc + `"`, "EOF"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, "absent.json")
			if c.name != "missing" {
				file = write(strings.ReplaceAll(c.name, " ", "_")+".json", c.content)
			}
			env := map[string]string{"PORT": "0", "DEV_AUTH0_ADDR": "127.0.0.1:0", "GRAPHQL_TRUSTED_DOCUMENTS": file}
			err := runUntilExit(t, env)
			if err == nil || !strings.Contains(err.Error(), "GRAPHQL_TRUSTED_DOCUMENTS: "+file) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("start-up error %v, want GRAPHQL_TRUSTED_DOCUMENTS: %s ... %s", err, file, c.want)
			}
		})
	}
	// A good manifest with a bad mode is refused too; a mode alone is a mistake.
	good := write("good.json", `{"`+sha256Hex(doc)+`": "`+doc+`"}`)
	env := map[string]string{"PORT": "0", "DEV_AUTH0_ADDR": "127.0.0.1:0"}
	env["GRAPHQL_TRUSTED_DOCUMENTS"], env["GRAPHQL_TRUSTED_DOCUMENTS_ONLY"] = good, "sometimes"
	if err := runUntilExit(t, env); err == nil || !strings.Contains(err.Error(), "GRAPHQL_TRUSTED_DOCUMENTS_ONLY") {
		t.Errorf("bad GRAPHQL_TRUSTED_DOCUMENTS_ONLY: %v", err)
	}
	delete(env, "GRAPHQL_TRUSTED_DOCUMENTS")
	env["GRAPHQL_TRUSTED_DOCUMENTS_ONLY"] = "true"
	if err := runUntilExit(t, env); err == nil || !strings.Contains(err.Error(), "GRAPHQL_TRUSTED_DOCUMENTS_ONLY applies only with GRAPHQL_TRUSTED_DOCUMENTS") {
		t.Errorf("GRAPHQL_TRUSTED_DOCUMENTS_ONLY alone: %v", err)
	}
}

// runUntilExit calls run and returns its error, failing the test if the
// service starts listening instead of refusing to start.
func runUntilExit(t *testing.T, env map[string]string) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, out, io.Discard) }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		cancel()
		<-done
		t.Fatalf("the service did not refuse to start; stdout:\n%s", out.String())
		return nil
	}
}
