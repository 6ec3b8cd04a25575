package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/figures"
)

// The write allow-list: whatever a signed-in user sends,
// the only thing that may reach Auth0 is a PATCH of the catalogue's own
// user_metadata keys and the service's bookkeeping object in app_metadata.
// The expected shape is written out here, not read from the rules, so the
// test does not trust the code it checks.
var (
	allowedUserMetadata = map[string]bool{
		"first_name": true, "last_name": true, "company": true,
		"title": true, "phone": true, "subscribed": true,
	}
	// The catalogue's field keys, which key the bookkeeping entries.
	catalogueKeys = map[string]bool{
		"firstName": true, "lastName": true, "company": true,
		"title": true, "phone": true, "subscribed": true,
	}
	bookkeepingSections = map[string]bool{"collected": true, "skipped": true}
	bookkeepingEntry    = map[string]bool{"at": true, "stage": true, "context": true, "rulesVersion": true, "consentVersion": true}
	// bookkeepingFlags are the non-text entries: a skip's count of "not
	// now"s in a row (a small whole number) and "never ask" (true).
	bookkeepingFlags = map[string]func(any) bool{
		"count": func(v any) bool { n, ok := v.(float64); return ok && n >= 1 && n <= 1000 && n == float64(int(n)) },
		"never": func(v any) bool { return v == true },
	}
)

const (
	alUpdate = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { userErrors { field code } } }`
	alSkip   = `mutation($input: SkipFieldsInput!) { skipFields(input: $input) { userErrors { field code } } }`
	alResult = `{ userErrors { field code } }`
)

// outcome is what a case must produce.
type outcome struct {
	// refused: no PATCH may reach Auth0. Exactly one of the following then
	// says how the refusal shows: an HTTP status, a userError code, or a
	// GraphQL error (any code) with status 200 or 422.
	status    int
	userError string
	gqlError  bool
	// badContext: a userError with this code, or a BAD_USER_INPUT error
	// naming the "context" argument (the payload's pendingFields are
	// computed in that context, which fails first).
	badContext string

	// saved: every PATCH must pass the allow-list, and the PATCHes'
	// user_metadata, merged in order, must equal saved exactly (nil values
	// are clears). An empty non-nil map means "bookkeeping only".
	saved map[string]any
}

func (o outcome) refused() bool { return o.saved == nil }

type allowListCase struct {
	class, name string
	hostile     bool // false: a control case showing what valid input writes
	request     func(base, token string) *http.Request
	want        outcome
}

func TestWriteAllowList(t *testing.T) {
	e := startService(t)
	const victim = auth0emu.SeedReturningUserID // has roles and bookkeeping to protect
	token, err := e.emu.IssueAccessToken(victim)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotUsers(t, e.emu)

	cases := allowListCases()
	if n := len(slices.DeleteFunc(slices.Clone(cases), func(c allowListCase) bool { return !c.hostile })); n < 150 {
		t.Fatalf("the table has only %d hostile inputs; it lost its cases", n)
	}
	var hostile, forwarded int
	for _, c := range cases {
		t.Run(c.class+"/"+c.name, func(t *testing.T) {
			e.emu.ResetCounters()
			resp := e.do(c.request(e.url, token))
			patches := e.emu.Patches()

			var violations []string
			for _, p := range patches {
				if p.UserID != victim {
					violations = append(violations, fmt.Sprintf("PATCH for user %q, not the token's", p.UserID))
				}
				violations = append(violations, allowListViolations(p.Body)...)
			}
			if c.want.refused() && len(patches) > 0 {
				violations = append(violations, fmt.Sprintf("%d PATCHes for an input that must be refused", len(patches)))
			}
			if c.hostile {
				hostile++
				if len(violations) > 0 {
					forwarded++
				}
			}
			for _, v := range violations {
				t.Errorf("%s\nPATCH bodies: %s", v, patchBodies(patches))
			}

			if c.want.refused() {
				checkRefusal(t, c.want, resp)
				return
			}
			if resp.Status != http.StatusOK || len(resp.Errors) > 0 || strings.Contains(resp.Raw, `"code"`) {
				t.Fatalf("want a clean save; status %d, body %.500s", resp.Status, resp.Raw)
			}
			if got := mergedUserMetadata(t, patches); !reflect.DeepEqual(got, c.want.saved) {
				t.Errorf("user_metadata written = %v, want %v", got, c.want.saved)
			}
		})
	}

	checkUntouched(t, before, snapshotUsers(t, e.emu))
	figures.Report(t, "write allow-list: %d hostile inputs, %d forwarded", hostile, forwarded)
}

func checkRefusal(t *testing.T, want outcome, resp *gqlResponse) {
	t.Helper()
	switch {
	case want.status != 0:
		if resp.Status != want.status {
			t.Errorf("status %d, want %d; body %.300s", resp.Status, want.status, resp.Raw)
		}
	case want.userError != "":
		var codes []string
		for _, ue := range userErrorsOf(resp) {
			codes = append(codes, fmt.Sprint(ue["code"]))
		}
		if resp.Status != http.StatusOK || !slices.Contains(codes, want.userError) {
			t.Errorf("want userError %s; status %d, userError codes %v, body %.300s", want.userError, resp.Status, codes, resp.Raw)
		}
	case want.badContext != "":
		var codes []string
		for _, ue := range userErrorsOf(resp) {
			codes = append(codes, fmt.Sprint(ue["code"]))
		}
		argErr := resp.code(0) == "BAD_USER_INPUT" && strings.Contains(resp.Errors[0].Message, `"context"`)
		if resp.Status != http.StatusOK || !(slices.Contains(codes, want.badContext) || argErr) {
			t.Errorf("want the context refused (%s); status %d, body %.300s", want.badContext, resp.Status, resp.Raw)
		}
	case want.gqlError:
		if (resp.Status != http.StatusOK && resp.Status != http.StatusUnprocessableEntity) || len(resp.Errors) == 0 {
			t.Errorf("want a GraphQL error; status %d, body %.300s", resp.Status, resp.Raw)
		}
		if resp.Data != nil && resp.Data["updateProfile"] != nil {
			t.Errorf("the mutation ran: %v", resp.Data)
		}
	default:
		t.Fatal("a refused case must say how the refusal shows")
	}
}

// userErrorsOf collects userErrors from every mutation field in the answer
// (aliases included).
func userErrorsOf(resp *gqlResponse) []map[string]any {
	var out []map[string]any
	for _, payload := range resp.Data {
		list, _ := path(payload, "userErrors").([]any)
		for _, ue := range list {
			if m, ok := ue.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// allowListViolations checks one PATCH body, as raw bytes, against the
// allow-list: valid UTF-8 JSON, no duplicate or '.'/'$' keys anywhere,
// user_metadata limited to catalogue stores with short clean scalar values,
// app_metadata limited to the bookkeeping object in its known shape.
func allowListViolations(body []byte) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	if !utf8.Valid(body) {
		bad("PATCH body is not valid UTF-8")
	}
	if err := walkJSONKeys(body, func(keyPath []string, depth int) {
		k := keyPath[len(keyPath)-1]
		if strings.ContainsAny(k, ".$") || k == "" {
			bad("key %q at %v: empty or with '.' or '$'", k, keyPath)
		}
		if depth > 5 {
			bad("key %v nested %d deep", keyPath, depth)
		}
	}); err != nil {
		bad("PATCH body: %v", err)
		return v
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		bad("PATCH body is not a JSON object: %v", err)
		return v
	}
	for k := range doc {
		if k != "user_metadata" && k != "app_metadata" {
			bad("root attribute %q written", k)
		}
	}
	if um, present := doc["user_metadata"]; present {
		m, ok := um.(map[string]any)
		if !ok {
			bad("user_metadata is %T, not an object", um)
		}
		for k, val := range m {
			if !allowedUserMetadata[k] {
				bad("user_metadata key %q is not a catalogue store", k)
				continue
			}
			switch val := val.(type) {
			case nil:
			case bool:
				if k != "subscribed" {
					bad("user_metadata.%s is a boolean", k)
				}
			case string:
				if k == "subscribed" {
					bad("user_metadata.subscribed is text")
				}
				if utf8.RuneCountInString(val) > 100 || !cleanForTest(val) {
					bad("user_metadata.%s = %.40q: too long or not clean text", k, val)
				}
			default:
				bad("user_metadata.%s is %T", k, val)
			}
		}
	}
	if am, present := doc["app_metadata"]; present {
		m, ok := am.(map[string]any)
		if !ok {
			bad("app_metadata is %T, not an object", am)
		}
		for k, val := range m {
			if k != "progressive_profiling" {
				bad("app_metadata key %q written", k)
				continue
			}
			bk, _ := val.(map[string]any)
			if bk == nil {
				bad("app_metadata.progressive_profiling is %T", val)
			}
			for section, entries := range bk {
				if !bookkeepingSections[section] {
					bad("bookkeeping section %q", section)
					continue
				}
				em, _ := entries.(map[string]any)
				for field, entry := range em {
					if !catalogueKeys[field] {
						bad("bookkeeping %s entry for %q, not a catalogue field", section, field)
					}
					fm, _ := entry.(map[string]any)
					if fm == nil {
						bad("bookkeeping %s.%s is %T", section, field, entry)
					}
					for ek, ev := range fm {
						if ok := bookkeepingFlags[ek]; ok != nil && section == "skipped" {
							if !ok(ev) {
								bad("bookkeeping %s.%s.%s = %.40v", section, field, ek, ev)
							}
							continue
						}
						s, isText := ev.(string)
						if !bookkeepingEntry[ek] || !isText || utf8.RuneCountInString(s) > 100 || !cleanForTest(s) {
							bad("bookkeeping %s.%s.%s = %.40v", section, field, ek, ev)
						}
					}
				}
			}
		}
	}
	return v
}

// walkJSONKeys calls visit for every object key with its path and depth,
// and fails on a duplicate key, which encoding/json would silently merge.
func walkJSONKeys(body []byte, visit func(keyPath []string, depth int)) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	var walk func(keyPath []string, depth int) error
	walk = func(keyPath []string, depth int) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				if seen[k] {
					return fmt.Errorf("duplicate key %q at %v", k, keyPath)
				}
				seen[k] = true
				p := append(slices.Clone(keyPath), k)
				visit(p, depth+1)
				if err := walk(p, depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(keyPath, depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk(nil, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON object")
	}
	return nil
}

// cleanForTest is this test's own statement of clean one-line text: valid
// UTF-8 without control or invisible formatting characters (ZWNJ and ZWJ
// excepted) and without U+FFFD, the mark of a decoder that met garbage.
func cleanForTest(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\u200c' || r == '\u200d':
		case r == utf8.RuneError, unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp):
			return false
		}
	}
	return true
}

func mergedUserMetadata(t *testing.T, patches []auth0emu.RecordedPatch) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, p := range patches {
		var doc struct {
			UserMetadata map[string]any `json:"user_metadata"`
		}
		if err := json.Unmarshal(p.Body, &doc); err != nil {
			t.Fatalf("PATCH body %s: %v", p.Body, err)
		}
		for k, v := range doc.UserMetadata {
			out[k] = v
		}
	}
	return out
}

func patchBodies(patches []auth0emu.RecordedPatch) string {
	var b strings.Builder
	for _, p := range patches {
		fmt.Fprintf(&b, "\n  %s: %.600s", p.UserID, p.Body)
	}
	return b.String()
}

// snapshotUsers reads every seeded user straight from the emulator's store.
func snapshotUsers(t *testing.T, emu *auth0emu.Server) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, id := range []string{auth0emu.SeedNewUserID, auth0emu.SeedSocialUserID, auth0emu.SeedReturningUserID, auth0emu.SeedEnrichedUserID} {
		u, ok := emu.User(id)
		if !ok {
			t.Fatalf("emulator lost user %s", id)
		}
		out[id] = u
	}
	return out
}

// checkUntouched: root attributes (email, email_verified, blocked,
// identities, ...) and app_metadata other than the bookkeeping (roles,
// enrichment) are exactly as before; user_metadata holds catalogue keys only.
func checkUntouched(t *testing.T, before, after map[string]map[string]any) {
	t.Helper()
	for id, b := range before {
		a := after[id]
		for _, k := range unionKeys(a, b) {
			switch k {
			case "user_metadata", "app_metadata", "updated_at":
				continue
			}
			if !reflect.DeepEqual(a[k], b[k]) {
				t.Errorf("user %s: root attribute %s changed from %v to %v", id, k, b[k], a[k])
			}
		}
		am, bm := asObject(a["app_metadata"]), asObject(b["app_metadata"])
		for _, k := range unionKeys(am, bm) {
			if k != "progressive_profiling" && !reflect.DeepEqual(am[k], bm[k]) {
				t.Errorf("user %s: app_metadata.%s changed from %v to %v", id, k, bm[k], am[k])
			}
		}
		for k := range asObject(a["user_metadata"]) {
			if !allowedUserMetadata[k] {
				t.Errorf("user %s: user_metadata.%s is not a catalogue store", id, k)
			}
		}
	}
	if roles := path(after[auth0emu.SeedReturningUserID], "app_metadata", "roles"); !reflect.DeepEqual(roles, []any{"beta-tester"}) {
		t.Errorf("roles = %v, want [beta-tester]", roles)
	}
}

func asObject(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func unionKeys(a, b map[string]any) []string {
	var out []string
	for k := range a {
		out = append(out, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// Request builders. Each returns a request with the bearer token set.

func withToken(req *http.Request, token string) *http.Request {
	if token != "" { // "": anonymous
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// postJSON posts body verbatim as application/json.
func postJSON(body string) func(base, token string) *http.Request {
	return postAs("application/json", body)
}

func postAs(contentType, body string) func(base, token string) *http.Request {
	return func(base, token string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		return withToken(req, token)
	}
}

// operation posts a query with variables, as a well-behaved client would.
func operation(query string, vars map[string]any) func(base, token string) *http.Request {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		panic(err)
	}
	return postJSON(string(body))
}

// updateVars runs updateProfile with input as the $input variable.
func updateVars(input map[string]any) func(base, token string) *http.Request {
	return operation(alUpdate, map[string]any{"input": input})
}

// updateInline runs updateProfile with fields written as a literal.
func updateInline(fields string) func(base, token string) *http.Request {
	return operation(`mutation { updateProfile(input: {`+fields+`}) `+alResult+` }`, nil)
}

// updateRawVars runs updateProfile with the variables object given as raw
// JSON text, for what json.Marshal cannot produce (duplicate keys, lone
// surrogates, invalid UTF-8).
func updateRawVars(rawVariables string) func(base, token string) *http.Request {
	q, _ := json.Marshal(alUpdate)
	return postJSON(`{"query":` + string(q) + `,"variables":` + rawVariables + `}`)
}

func skipVars(input map[string]any) func(base, token string) *http.Request {
	return operation(alSkip, map[string]any{"input": input})
}

func getQuery(params url.Values) func(base, token string) *http.Request {
	return func(base, token string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, base+"/graphql?"+params.Encode(), nil)
		return withToken(req, token)
	}
}

func nested(depth int, leaf any) any {
	v := leaf
	for range depth {
		v = map[string]any{"a": v}
	}
	return v
}

func refusedWith(code string) outcome { return outcome{userError: code} }

func contextRefused(code string) outcome { return outcome{badContext: code} }

var (
	gqlRefusal = outcome{gqlError: true}
	// savedBookkeepingOnly: the answers equal what is stored, or only the
	// bookkeeping changes.
	savedBookkeepingOnly = outcome{saved: map[string]any{}}
)

func saved(kv ...any) outcome {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return outcome{saved: m}
}

func allowListCases() []allowListCase {
	var cs []allowListCase
	add := func(class, name string, hostile bool, req func(base, token string) *http.Request, want outcome) {
		cs = append(cs, allowListCase{class: class, name: name, hostile: hostile, request: req, want: want})
	}

	// Protected targets and a value an attacker would like to put there.
	targets := []struct {
		key     string
		literal string // GraphQL literal
		value   any    // JSON value
	}{
		{"email", `"attacker@evil.test"`, "attacker@evil.test"},
		{"email_verified", `true`, true},
		{"blocked", `false`, false},
		{"password", `"Hunter2!Hunter2!"`, "Hunter2!Hunter2!"},
		{"connection", `"google-oauth2"`, "google-oauth2"},
		{"app_metadata", `{roles: ["admin"]}`, map[string]any{"roles": []any{"admin"}}},
		{"user_metadata", `{first_name: "x", isAdmin: true}`, map[string]any{"first_name": "x", "isAdmin": true}},
		{"progressive_profiling", `{collected: {}}`, map[string]any{"collected": map[string]any{}}},
		{"roles", `["admin"]`, []any{"admin"}},
		{"user_id", `"auth0|someone-else"`, "auth0|someone-else"},
		{"identities", `[{provider: "auth0"}]`, []any{map[string]any{"provider": "auth0"}}},
		{"first_name", `"store key"`, "store key"},
		{"FirstName", `"case trick"`, "case trick"},
		{"clientMutationId", `"reserved"`, "reserved"},
	}

	// 1. Fields the input type does not have, as literals and as variables.
	for _, tg := range targets {
		add("unknown field/literal", tg.key, true, updateInline(`firstName: "Inline", `+tg.key+`: `+tg.literal), gqlRefusal)
		add("unknown field/variables", tg.key, true, updateVars(map[string]any{"firstName": "Vars", tg.key: tg.value}), gqlRefusal)
	}
	for _, k := range []string{"first.name", "$set", "__proto__", "user_metadata.first_name", "app_metadata.roles", "../x", "firstName\u0000", "fіrstName" /* Cyrillic і */, strings.Repeat("k", 10<<10)} {
		add("unknown field/variables", fmt.Sprintf("%.20q", k), true, updateVars(map[string]any{"firstName": "Vars", k: "x"}), gqlRefusal)
	}
	add("unknown field/variables", "only app_metadata", true, updateVars(map[string]any{"app_metadata": map[string]any{"roles": []any{"admin"}}}), gqlRefusal)
	add("unknown field/variables", "5000 unknown keys", true, updateVars(func() map[string]any {
		m := map[string]any{"firstName": "Many"}
		for i := range 5000 {
			m[fmt.Sprintf("k%d", i)] = "x"
		}
		return m
	}()), gqlRefusal)
	add("unknown field/variables", `"app\u005fmetadata" escape`, true, updateRawVars(`{"input":{"firstName":"Esc","app\u005fmetadata":{"roles":["admin"]}}}`), gqlRefusal)
	// Names GraphQL syntax cannot express are parse errors, never keys.
	add("unknown field/literal", "first.name", true, updateInline(`firstName: "Inline", first.name: "x"`), gqlRefusal)
	add("unknown field/literal", "$set", true, updateInline(`firstName: "Inline", $set: {email: "x"}`), gqlRefusal)
	add("unknown field/literal", `"quoted"`, true, updateInline(`firstName: "Inline", "email": "x"`), gqlRefusal)
	// __typename is the one extra key gqlparser lets through in a variable
	// object; the generated unmarshaller keeps schema fields only.
	add("unknown field/variables", "__typename", true, updateVars(map[string]any{"firstName": "Typename", "__typename": "app_metadata"}), saved("first_name", "Typename"))
	add("unknown field/literal", "__typename", true, updateInline(`firstName: "Typename2", __typename: "x"`), gqlRefusal)

	// 2. Variables typed so that validation might look the other way.
	add("variable types", "custom scalar as the whole input", true,
		operation(`mutation($x: FieldValue!) { updateProfile(input: $x) `+alResult+` }`, map[string]any{"x": map[string]any{"firstName": "S", "email": "x"}}), gqlRefusal)
	add("variable types", "custom scalar as a field", true,
		operation(`mutation($x: FieldValue) { updateProfile(input: {firstName: $x}) `+alResult+` }`, map[string]any{"x": map[string]any{"$set": map[string]any{"email": "x"}}}), gqlRefusal)
	add("variable types", "DateTime as a field", true,
		operation(`mutation($x: DateTime) { updateProfile(input: {firstName: $x}) `+alResult+` }`, map[string]any{"x": "2026-01-01T00:00:00Z"}), gqlRefusal)
	add("variable types", "default value with unknown field", true,
		operation(`mutation($input: UpdateProfileInput = {firstName: "Def", email: "x@evil.test"}) { updateProfile(input: $input) `+alResult+` }`, nil), gqlRefusal)
	add("variable types", "default value with nested object", true,
		operation(`mutation($input: UpdateProfileInput = {firstName: {a: 1}}) { updateProfile(input: $input) `+alResult+` }`, nil), gqlRefusal)
	add("variable types", "undeclared variable", true,
		operation(`mutation { updateProfile(input: $input) `+alResult+` }`, map[string]any{"input": map[string]any{"email": "x"}}), gqlRefusal)
	add("variable types", "input null", true, updateVars(nil), gqlRefusal)
	add("variable types", "input as a list", true,
		postJSON(`{"query":`+jsonString(alUpdate)+`,"variables":{"input":[{"firstName":"L","email":"x"}]}}`), gqlRefusal)

	// 3. Objects, lists and numbers where text or booleans are expected.
	for name, v := range map[string]any{
		"object":        map[string]any{"$set": map[string]any{"email": "x"}},
		"list":          []any{"Ada", "x"},
		"deep object":   nested(200, "x"),
		"boolean":       true,
		"list of lists": []any{[]any{[]any{"x"}}},
	} {
		add("wrong type/variables", "firstName "+name, true, updateVars(map[string]any{"firstName": v}), gqlRefusal)
	}
	add("wrong type/variables", `subscribed "true"`, true, updateVars(map[string]any{"subscribed": "true"}), gqlRefusal)
	add("wrong type/variables", "subscribed 1", true, updateVars(map[string]any{"subscribed": 1}), gqlRefusal)
	add("wrong type/variables", "subscribed object", true, updateVars(map[string]any{"subscribed": map[string]any{"a": true}}), gqlRefusal)
	add("wrong type/variables", "context object", true, updateVars(map[string]any{"firstName": "Ctx", "context": map[string]any{"$where": "1"}}), gqlRefusal)
	add("wrong type/variables", "context list", true, updateVars(map[string]any{"firstName": "Ctx", "context": []any{"a", "b"}}), gqlRefusal)
	// A JSON number is not a String (gqlparser would take it as one, and
	// gqlgen would save its digits; graphqlapi/coercion.go refuses it).
	add("wrong type/variables", "title 12345", true, updateVars(map[string]any{"title": 12345}), gqlRefusal)
	add("wrong type/variables", "phone as a number", true, updateVars(map[string]any{"phone": 14155550123}), gqlRefusal)
	add("wrong type/variables", "context as a number", true, updateVars(map[string]any{"company": "Num", "context": 1}), gqlRefusal)
	add("wrong type/literal", "firstName 123", true, updateInline(`firstName: 123`), gqlRefusal)
	add("wrong type/literal", "firstName object", true, updateInline(`firstName: {email: "x"}`), gqlRefusal)
	add("wrong type/literal", "firstName list", true, updateInline(`firstName: ["a"]`), gqlRefusal)
	add("wrong type/literal", "subscribed string", true, updateInline(`subscribed: "yes"`), gqlRefusal)
	add("wrong type/literal", "deep literal object", true, updateInline(`firstName: `+strings.Repeat("{a: ", 500)+"1"+strings.Repeat("}", 500)), gqlRefusal)
	add("wrong type/body", "JSON nested 20000 deep", true,
		postJSON(`{"query":`+jsonString(alUpdate)+`,"variables":{"input":{"firstName":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}}}`), outcome{status: http.StatusBadRequest})

	// 4. Oversized values.
	add("oversized", "firstName 1 MB", true, updateVars(map[string]any{"firstName": strings.Repeat("A", 1<<20)}), outcome{status: http.StatusRequestEntityTooLarge})
	add("oversized", "firstName 1 MB, no Content-Length", true, func(base, token string) *http.Request {
		req := updateVars(map[string]any{"firstName": strings.Repeat("A", 1<<20)})(base, token)
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body)) // hides the length: chunked
		req.ContentLength = -1
		return req
	}, outcome{status: http.StatusRequestEntityTooLarge})
	add("oversized", "firstName 60 KB", true, updateVars(map[string]any{"firstName": strings.Repeat("A", 60<<10)}), refusedWith("TOO_LONG"))
	add("oversized", "company 10 KB", true, updateVars(map[string]any{"company": strings.Repeat("C", 10<<10)}), refusedWith("TOO_LONG"))
	add("oversized", "title 101 characters", true, updateVars(map[string]any{"title": strings.Repeat("t", 101)}), refusedWith("TOO_LONG"))
	add("oversized", "title 101 emoji", true, updateVars(map[string]any{"title": strings.Repeat("🧨", 101)}), refusedWith("TOO_LONG"))
	add("oversized", "phone 10 KB", true, updateVars(map[string]any{"phone": "+44" + strings.Repeat("2", 10<<10)}), refusedWith("INVALID_PHONE"))
	add("oversized", "context 10 KB", true, updateVars(map[string]any{"firstName": "Ctx", "context": strings.Repeat("x", 10<<10)}), contextRefused("TOO_LONG"))
	add("oversized", "literal firstName 10 KB", true, updateInline(`firstName: "`+strings.Repeat("A", 10<<10)+`"`), refusedWith("TOO_LONG"))
	add("oversized", "valid and oversized together", true, updateVars(map[string]any{"company": "Fine Ltd", "title": strings.Repeat("t", 5000)}), refusedWith("TOO_LONG"))

	// 5. Unicode tricks in values and in the context.
	for name, s := range map[string]string{
		"NUL":                  "Ada\u0000Admin",
		"RTL override":         "Ada\u202enimda",
		"zero-width space":     "Ad\u200ba",
		"BOM":                  "\ufeffAda",
		"line separator":       "Ada\u2028Admin",
		"newline":              "Ada\nAdmin",
		"tab":                  "Ada\tAdmin",
		"escape sequence":      "Ada\u001b[31m",
		"DEL":                  "Ada\u007f",
		"C1 control":           "Ada\u0085Admin",
		"soft hyphen":          "Ad\u00ada",
		"language tag":         "Ada\U000E0041",
		"interlinear anchor":   "Ada\ufff9",
		"word joiner":          "Ada\u2060",
		"left-to-right mark":   "Ada\u200e",
		"arabic letter mark":   "Ada\u061c",
		"mongolian separator":  "Ada\u180e",
		"paragraph separator":  "Ada\u2029Admin",
		"U+FFFD":               "Ada\ufffd",
		"noncharacter U+FFFF":  "Ada\uffff",
		"noncharacter U+FDD0":  "Ada\ufdd0",
		"tag space in context": "\U000E0020",
	} {
		add("unicode/answer", name, true, updateVars(map[string]any{"firstName": s}), refusedWith("INVALID_CHARACTERS"))
		add("unicode/context", name, true, updateVars(map[string]any{"company": "Unicode Ltd", "context": s}), contextRefused("INVALID_CHARACTERS"))
	}
	add("unicode/answer", `lone surrogate "\ud800"`, true, updateRawVars(`{"input":{"firstName":"Ada\ud800"}}`), refusedWith("INVALID_CHARACTERS"))
	add("unicode/answer", `surrogate pair reversed "\udc00\ud800"`, true, updateRawVars(`{"input":{"lastName":"Love\udc00\ud800"}}`), refusedWith("INVALID_CHARACTERS"))
	add("unicode/answer", "raw invalid UTF-8 byte", true, updateRawVars("{\"input\":{\"firstName\":\"Ada\xff\xfe\"}}"), refusedWith("INVALID_CHARACTERS"))
	add("unicode/answer", "overlong NUL encoding", true, updateRawVars("{\"input\":{\"firstName\":\"Ada\xc0\x80\"}}"), refusedWith("INVALID_CHARACTERS"))
	add("unicode/context", `lone surrogate "\udfff"`, true, updateRawVars(`{"input":{"company":"Surrogate Ltd","context":"article\udfff"}}`), contextRefused("INVALID_CHARACTERS"))
	add("unicode/answer", "ZWJ emoji sequence is a name", false, updateVars(map[string]any{"title": "👩\u200d💻 Engineer"}), saved("title", "👩\u200d💻 Engineer"))

	// 6. The context is a value, never a key: '.', '$' and friends are data.
	for _, ctx := range []string{"a.b", "$where", "__proto__", "../app_metadata", "app_metadata.roles"} {
		add("context", fmt.Sprintf("%q", ctx), true, updateVars(map[string]any{"company": "Ctx " + ctx, "context": ctx}), saved("company", "Ctx "+ctx))
	}

	// 7. Duplicate JSON keys: encoding/json keeps the last one; whichever
	// wins, validation sees exactly what executes.
	add("duplicate keys", "firstName twice", true, updateRawVars(`{"input":{"firstName":"Dup1","firstName":"Dup2"}}`), saved("first_name", "Dup2"))
	add("duplicate keys", "benign then hostile variables", true,
		postJSON(`{"query":`+jsonString(alUpdate)+`,"variables":{"input":{"firstName":"Dup3"}},"variables":{"input":{"firstName":"Dup3","email":"x@evil.test"}}}`), gqlRefusal)
	add("duplicate keys", "hostile then benign variables", true,
		postJSON(`{"query":`+jsonString(alUpdate)+`,"variables":{"input":{"email":"x@evil.test"}},"variables":{"input":{"lastName":"Dup4"}}}`), saved("last_name", "Dup4"))
	add("duplicate keys", "benign then hostile query", true,
		postJSON(`{"query":"{ viewer { id } }","query":`+jsonString(`mutation { updateProfile(input: {email: "x"}) `+alResult+` }`)+`}`), gqlRefusal)
	add("duplicate keys", "app_metadata inside a catalogue answer", true,
		updateRawVars(`{"input":{"title":"Dup5","title":{"app_metadata":{"roles":["admin"]}}}}`), gqlRefusal)

	// 8. skipFields: keys are field keys, nothing else.
	for _, k := range []string{"app_metadata", "progressive_profiling", "__proto__", "first_name", "../x", "a.b", "$x", "", "email", "blocked", "collected", strings.Repeat("k", 10<<10), "company\u0000"} {
		add("skipFields keys", fmt.Sprintf("%.20q", k), true, skipVars(map[string]any{"keys": []any{k}}), refusedWith("UNKNOWN_FIELD"))
	}
	add("skipFields keys", "valid and hostile together", true, skipVars(map[string]any{"keys": []any{"company", "app_metadata"}}), refusedWith("UNKNOWN_FIELD"))
	add("skipFields keys", "key as an object", true, skipVars(map[string]any{"keys": []any{map[string]any{"$set": "x"}}}), gqlRefusal)
	add("skipFields keys", "extra input field", true, skipVars(map[string]any{"keys": []any{"company"}, "app_metadata": map[string]any{"roles": []any{"admin"}}}), gqlRefusal)
	add("skipFields keys", "context with NUL", true, skipVars(map[string]any{"keys": []any{"company"}, "context": "a\u0000"}), contextRefused("INVALID_CHARACTERS"))
	add("skipFields keys", "context 10 KB", true, skipVars(map[string]any{"keys": []any{"company"}, "context": strings.Repeat("c", 10<<10)}), contextRefused("TOO_LONG"))
	add("skipFields keys", "a single key, not a list (coerced)", true, skipVars(map[string]any{"keys": "app_metadata"}), refusedWith("UNKNOWN_FIELD"))
	add("skipFields keys", "context with '.' and '$' is a value", true, skipVars(map[string]any{"keys": []any{"phone"}, "context": "$a.b"}), savedBookkeepingOnly)

	// 9. Transports, batching and operation selection.
	mutationLiteral := `mutation M { updateProfile(input: {firstName: "Transport"}) ` + alResult + ` }`
	add("transport", "mutation via GET", true, getQuery(url.Values{"query": {mutationLiteral}}), outcome{status: http.StatusMethodNotAllowed})
	add("transport", "mutation via GET with operationName", true, getQuery(url.Values{"query": {`query Q { viewer { id } } ` + mutationLiteral}, "operationName": {"M"}}), outcome{status: http.StatusMethodNotAllowed})
	add("transport", "form post", true, postAs("application/x-www-form-urlencoded", url.Values{"query": {mutationLiteral}}.Encode()), outcome{status: http.StatusBadRequest})
	add("transport", "text/plain post", true, postAs("text/plain", `{"query":`+jsonString(mutationLiteral)+`}`), outcome{status: http.StatusBadRequest})
	add("transport", "application/graphql post", true, postAs("application/graphql", mutationLiteral), outcome{status: http.StatusBadRequest})
	add("transport", "multipart post", true, func(base, token string) *http.Request {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		_ = w.WriteField("operations", `{"query":`+jsonString(mutationLiteral)+`}`)
		_ = w.WriteField("map", `{}`)
		_ = w.Close()
		return postAs(w.FormDataContentType(), b.String())(base, token)
	}, outcome{status: http.StatusBadRequest})
	add("transport", "PUT with JSON", true, func(base, token string) *http.Request {
		req := postJSON(`{"query":`+jsonString(mutationLiteral)+`}`)(base, token)
		req.Method = http.MethodPut
		return req
	}, outcome{status: http.StatusMethodNotAllowed})
	add("transport", "batched array body", true, postJSON(`[{"query":`+jsonString(mutationLiteral)+`},{"query":`+jsonString(`mutation { updateProfile(input: {email: "x"}) `+alResult+` }`)+`}]`), outcome{status: http.StatusBadRequest})
	add("transport", "second JSON object after the first", true,
		postJSON(`{"query":"{ viewer { id } }"}{"query":`+jsonString(mutationLiteral)+`}`), outcome{status: http.StatusBadRequest})
	add("transport", "mutation, then a second JSON object", true,
		postJSON(`{"query":`+jsonString(mutationLiteral)+`} {"query":"{ viewer { id } }"}`), outcome{status: http.StatusBadRequest})
	add("operationName", "selects the query, not the mutation", true,
		operationNamed(`query Q { viewer { id } } `+mutationLiteral, "Q"), outcome{status: http.StatusOK})
	add("operationName", "missing with two operations", true,
		operationNamed(`query Q { viewer { id } } `+mutationLiteral, ""), gqlRefusal)
	add("operationName", "names no operation", true,
		operationNamed(mutationLiteral, "Other"), gqlRefusal)
	add("operationName", "valid mutation beside a hostile one", true,
		operationNamed(mutationLiteral+` mutation H { updateProfile(input: {email: "x"}) `+alResult+` }`, "M"), gqlRefusal)
	add("operationName", "subscription", true,
		operation(`subscription { updateProfile(input: {firstName: "Sub"}) `+alResult+` }`, nil), gqlRefusal)
	add("operationName", "mutation field on Query", true,
		operation(`query { updateProfile(input: {firstName: "Q"}) `+alResult+` }`, nil), gqlRefusal)
	add("aliases", "valid and hostile alias", true,
		operation(`mutation { a: updateProfile(input: {firstName: "AliasOK"}) `+alResult+` b: updateProfile(input: {firstName: "AliasBad", email: "x"}) `+alResult+` }`, nil), gqlRefusal)
	add("aliases", "updateProfile twice with conflicting values", true,
		operation(`mutation { a: updateProfile(input: {company: "Alias A"}) `+alResult+` b: updateProfile(input: {company: "Alias B"}) `+alResult+` }`, nil), saved("company", "Alias B"))
	add("aliases", "skipFields aliased around an answer", true,
		operation(`mutation { s: skipFields(input: {keys: ["title"]}) `+alResult+` u: updateProfile(input: {title: "Alias T"}) `+alResult+` }`, nil), saved("title", "Alias T"))
	add("directives", "mutation skipped by @skip", true,
		operation(`mutation { updateProfile(input: {firstName: "Skipped"}) @skip(if: true) `+alResult+` }`, nil), outcome{status: http.StatusOK})

	// 10. Control cases: what valid input writes, and nothing more.
	add("valid", "every catalogue answer", false, updateVars(map[string]any{
		"firstName": " Augusta ", "lastName": "King", "company": "Analytical Engines Ltd", "title": "Engineer",
		"phone": "+44 20 7946 0958", "subscribed": true, "context": "article",
	}), saved("first_name", "Augusta", "last_name", "King", "company", "Analytical Engines Ltd", "title", "Engineer", "phone", "+442079460958", "subscribed", true))
	add("valid", "clear optional answers", false, updateVars(map[string]any{"title": nil, "phone": nil}), saved("title", nil, "phone", nil))
	add("valid", "same answer again", false, updateVars(map[string]any{"company": "Analytical Engines Ltd"}), outcome{status: http.StatusOK})
	add("valid", "literal answers", false, updateInline(`company: "Literal Ltd", subscribed: false, context: "article"`), saved("company", "Literal Ltd", "subscribed", false))
	add("valid", "skip", false, skipVars(map[string]any{"keys": []any{"title"}}), savedBookkeepingOnly)
	add("valid", "clearing a required answer", false, updateVars(map[string]any{"firstName": nil}), refusedWith("REQUIRED"))
	return cs
}

func operationNamed(query, name string) func(base, token string) *http.Request {
	body := map[string]any{"query": query}
	if name != "" {
		body["operationName"] = name
	}
	b, _ := json.Marshal(body)
	return postJSON(string(b))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestAllowListCheckerCatches proves the checker above can fail: each body
// is something the service must never send, and each must be flagged.
func TestAllowListCheckerCatches(t *testing.T) {
	okBookkeeping := `"app_metadata":{"progressive_profiling":{"collected":{"company":{"at":"2026-01-01T00:00:00Z","stage":"returning","context":""}}}}`
	if v := allowListViolations([]byte(`{"user_metadata":{"company":"Initech","subscribed":true,"title":null},` + okBookkeeping + `}`)); len(v) != 0 {
		t.Fatalf("a valid PATCH was flagged: %v", v)
	}
	for name, body := range map[string]string{
		"root email":                `{"email":"x@evil.test"}`,
		"root blocked":              `{"user_metadata":{"company":"A"},"blocked":false}`,
		"root password":             `{"password":"x"}`,
		"app_metadata roles":        `{"app_metadata":{"roles":["admin"]}}`,
		"app_metadata beside":       `{"app_metadata":{"progressive_profiling":{},"enrichment":{}}}`,
		"unknown user_metadata key": `{"user_metadata":{"isAdmin":true}}`,
		"dotted key":                `{"user_metadata":{"first.name":"x"}}`,
		"dollar key deep":           `{"app_metadata":{"progressive_profiling":{"collected":{"company":{"$set":"x"}}}}}`,
		"duplicate key":             `{"user_metadata":{"company":"A","company":"B"}}`,
		"object value":              `{"user_metadata":{"company":{"a":1}}}`,
		"list value":                `{"user_metadata":{"company":["a"]}}`,
		"text for subscribed":       `{"user_metadata":{"subscribed":"true"}}`,
		"bool for text":             `{"user_metadata":{"company":true}}`,
		"101 characters":            `{"user_metadata":{"company":"` + strings.Repeat("a", 101) + `"}}`,
		"NUL in a value":            `{"user_metadata":{"company":"a\u0000b"}}`,
		"U+FFFD in a value":         `{"user_metadata":{"company":"a\ufffd"}}`,
		"bad bookkeeping section":   `{"app_metadata":{"progressive_profiling":{"roles":{}}}}`,
		"bookkeeping for non-field": `{"app_metadata":{"progressive_profiling":{"collected":{"email":{"at":"x"}}}}}`,
		"bookkeeping extra entry":   `{"app_metadata":{"progressive_profiling":{"skipped":{"phone":{"at":"x","admin":"y"}}}}}`,
		"bookkeeping deep object":   `{"app_metadata":{"progressive_profiling":{"skipped":{"phone":{"at":{"a":{"b":{"c":1}}}}}}}}`,
		"invalid UTF-8":             "{\"user_metadata\":{\"company\":\"a\xff\"}}",
		"trailing data":             `{"user_metadata":{"company":"A"}}{"email":"x"}`,
		"not an object":             `["email"]`,
	} {
		if v := allowListViolations([]byte(body)); len(v) == 0 {
			t.Errorf("%s: %s was not flagged", name, body)
		}
	}
}
