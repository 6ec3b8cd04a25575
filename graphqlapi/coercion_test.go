package graphqlapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// serveBody posts a raw JSON body to h.
func serveBody(t *testing.T, h http.Handler, body string) served {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out struct {
		Errors []struct {
			Message    string         `json:"message"`
			Path       []any          `json:"path"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	s := served{code: w.Code, raw: w.Body.String()}
	if len(out.Errors) > 0 {
		s.limit, _ = out.Errors[0].Extensions["limit"].(string)
		s.errorCode, _ = out.Errors[0].Extensions["code"].(string)
		s.firstDetail = out.Errors[0].Message
	}
	return s
}

// The exact messages a client gets for a wrongly typed value; the handler
// has no service, so a value that got through would panic in a resolver
// and answer INTERNAL instead.
func TestStrictCoercionMessages(t *testing.T) {
	h := NewHandler(nil, HandlerOptions{})
	const update = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { userErrors { code } } }`
	const skip = `mutation($input: SkipFieldsInput!) { skipFields(input: $input) { userErrors { code } } }`
	const pending = `query($limit: Int, $context: String) { pendingFields(limit: $limit, context: $context) { key } }`
	for _, c := range []struct{ query, vars, want string }{
		{update, `{"input":{"firstName":42}}`, `Variable "$input" got an invalid value at firstName: a String must be a JSON string, not the number 42.`},
		{update, `{"input":{"subscribed":true,"phone":1e3}}`, `Variable "$input" got an invalid value at phone: a String must be a JSON string, not the number 1e3.`},
		{update, `{"input":{"context":-0.5}}`, `Variable "$input" got an invalid value at context: a String must be a JSON string, not the number -0.5.`},
		{update, `{"input":{"title":` + strings.Repeat("9", 5000) + `}}`, `Variable "$input" got an invalid value at title: a String must be a JSON string, not the number 999999999999…(5000 characters).`},
		{skip, `{"input":{"keys":["phone",7]}}`, `Variable "$input" got an invalid value at keys[1]: a String must be a JSON string, not the number 7.`},
		{skip, `{"input":{"keys":7}}`, `Variable "$input" got an invalid value at keys[0]: a String must be a JSON string, not the number 7.`},
		{skip, `{"input":{"keys":["phone"],"context":7}}`, `Variable "$input" got an invalid value at context: a String must be a JSON string, not the number 7.`},
		{pending, `{"context":42}`, `Variable "$context" got an invalid value: a String must be a JSON string, not the number 42.`},
		{pending, `{"limit":"2"}`, `Variable "$limit" got an invalid value: an Int must be a JSON number, not a string.`},
		{pending, `{"limit":2147483648}`, `Variable "$limit" got an invalid value: 2147483648 is not an Int: GraphQL's Int is a 32-bit signed integer, from -2147483648 to 2147483647.`},
		{pending, `{"limit":-2147483649}`, `Variable "$limit" got an invalid value: -2147483649 is not an Int: GraphQL's Int is a 32-bit signed integer, from -2147483648 to 2147483647.`},
		{`query($limit: Int = 3000000000) { pendingFields(limit: $limit) { key } }`, `{}`, `Int cannot represent non 32-bit signed integer value: 3000000000 (an Int is from -2147483648 to 2147483647).`},
		{`{ pendingFields(limit: 3000000000) { key } }`, `{}`, `Int cannot represent non 32-bit signed integer value: 3000000000 (an Int is from -2147483648 to 2147483647).`},
		{`{ viewer { pendingFields(limit: -2147483649) { key } } }`, `{}`, `Int cannot represent non 32-bit signed integer value: -2147483649 (an Int is from -2147483648 to 2147483647).`},
	} {
		body := `{"query":` + jsonText(c.query) + `,"variables":` + c.vars + `}`
		got := serveBody(t, h, body)
		if got.code != http.StatusUnprocessableEntity || got.errorCode != "GRAPHQL_VALIDATION_FAILED" || got.firstDetail != c.want {
			t.Errorf("variables %.60s\n got  %d %s %q\n want 422 GRAPHQL_VALIDATION_FAILED %q", c.vars, got.code, got.errorCode, got.firstDetail, c.want)
		}
	}
}

// The bounds themselves are Ints; unknown types and introspection stay
// gqlparser's business.
func TestStrictCoercionAcceptsTheBounds(t *testing.T) {
	for _, v := range []any{int64(2147483647), int64(-2147483648), json.Number("2147483647"), json.Number("-2147483648"), float64(3), json.Number("1e3")} {
		if p := intProblem(v); p != "" {
			t.Errorf("intProblem(%v) = %q", v, p)
		}
	}
	for _, v := range []any{json.Number("2147483648"), json.Number("1.5"), json.Number("1e10"), "5", int64(1 << 40)} {
		if p := intProblem(v); p == "" {
			t.Errorf("intProblem(%#v) accepted", v)
		}
	}
	if p := stringProblem("42"); p != "" {
		t.Errorf("a string is a String: %q", p)
	}
}

func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
