package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func sha256Hex(q string) string {
	sum := sha256.Sum256([]byte(q))
	return hex.EncodeToString(sum[:])
}

func persistedExt(hash string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
}

// postPersisted posts an APQ request; query "" sends the hash alone.
func (e *testEnv) postPersisted(token, query, hash string, vars map[string]any) *gqlResponse {
	e.t.Helper()
	body := map[string]any{"extensions": persistedExt(hash), "variables": vars}
	if query != "" {
		body["query"] = query
	}
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return e.do(req)
}

// getPersisted is Apollo's useGETForHashedQueries: the hash alone, by GET.
func (e *testEnv) getPersisted(token, hash string, vars map[string]any) *gqlResponse {
	e.t.Helper()
	ext, _ := json.Marshal(persistedExt(hash))
	v := url.Values{"extensions": {string(ext)}}
	if vars != nil {
		b, _ := json.Marshal(vars)
		v.Set("variables", string(b))
	}
	req, _ := http.NewRequest(http.MethodGet, e.url+"/graphql?"+v.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.do(req)
}

// TestAutomaticPersistedQueries walks Apollo's protocol through the real
// server and Redis: an unknown hash is PERSISTED_QUERY_NOT_FOUND, the hash
// with its query registers it (in Redis, with a TTL), then the hash alone
// runs, by POST or GET, on another instance too.
func TestAutomaticPersistedQueries(t *testing.T) {
	e := startService(t)
	token := e.login("returning@example.com")
	const query = `query Prompt($context: String) { viewer { email pendingFields(context: $context) { key } } }`
	hash := sha256Hex(query)
	vars := map[string]any{"context": "article"}

	r := e.postPersisted(token, "", hash, vars)
	if r.code(0) != "PERSISTED_QUERY_NOT_FOUND" || r.Data["viewer"] != nil {
		t.Fatalf("unknown hash: %d %s", r.Status, r.Raw)
	}
	first := e.postPersisted(token, query, hash, vars).mustData(t)
	rdb := redis.NewClient(&redis.Options{Addr: e.redis.Addr()})
	defer rdb.Close()
	if ttl := rdb.TTL(t.Context(), "pp:apq:"+hash).Val(); ttl <= 0 {
		t.Errorf("registered query's TTL %s, want a bounded lifetime", ttl)
	}
	again := e.postPersisted(token, "", hash, vars).mustData(t)
	if path(again, "viewer", "email") != "returning@example.com" || len(keys(path(again, "viewer", "pendingFields"))) == 0 {
		t.Errorf("hash alone: %v", again)
	}
	if b1, b2 := mustJSON(first), mustJSON(again); b1 != b2 {
		t.Errorf("hash alone answered %s, the full query %s", b2, b1)
	}
	byGet := e.getPersisted(token, hash, vars).mustData(t)
	if mustJSON(byGet) != mustJSON(first) {
		t.Errorf("GET with the hash: %v", byGet)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestPersistedQueryRefusals(t *testing.T) {
	e := startService(t)
	token := e.login("new@example.com")

	// A hash that is not its query's registers nothing and runs nothing.
	const query = `{ viewer { email } }`
	wrong := sha256Hex("{ viewer { id } }")
	r := e.postPersisted(token, query, wrong, nil)
	if r.Data["viewer"] != nil || len(r.Errors) != 1 || r.code(0) != "GRAPHQL_VALIDATION_FAILED" || !strings.Contains(r.Errors[0].Message, "hash") {
		t.Fatalf("mismatched hash: %d %s", r.Status, r.Raw)
	}
	if r := e.postPersisted(token, "", wrong, nil); r.code(0) != "PERSISTED_QUERY_NOT_FOUND" {
		t.Errorf("the mismatched pair was registered: %s", r.Raw)
	}

	// A registered mutation runs by POST, never by GET. The method can be
	// checked only once the hash is resolved, so this is operationLimits'
	// 422 with limit "method", not transportGuard's 405.
	const mutation = `mutation { skipFields(input: { keys: ["firstName"] }) { userErrors { code } } }`
	mhash := sha256Hex(mutation)
	e.postPersisted(token, mutation, mhash, nil).mustData(t)
	e.emu.ResetCounters()
	get := e.getPersisted(token, mhash, nil)
	if get.Status != http.StatusUnprocessableEntity || len(get.Errors) != 1 || get.Errors[0].Extensions["limit"] != "method" || get.Data["skipFields"] != nil {
		t.Errorf("hashed mutation by GET: %d %s, want 422 limit method", get.Status, get.Raw)
	}
	if n := len(e.emu.Patches()); n != 0 {
		t.Errorf("a GET mutation wrote %d patches", n)
	}

	// Unsupported versions are refused with a code.
	raw, _ := json.Marshal(map[string]any{"query": query, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 2, "sha256Hash": sha256Hex(query)}}})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if r := e.do(req); r.code(0) != "GRAPHQL_VALIDATION_FAILED" || r.Data["viewer"] != nil {
		t.Errorf("APQ version 2: %s", r.Raw)
	}
}
