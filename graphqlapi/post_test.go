package graphqlapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/progressive-profiling/bff/graph"
	"github.com/progressive-profiling/bff/resolvers"
)

// post answers every request as gqlgen's own POST transport does: the same
// status, Content-Type and bytes, on two servers that differ in nothing
// else. Introspection gives real answers full of the schema's prose; the
// escaping of data is checked against encoding/json below.
func TestPostAnswersAsGqlgensPOST(t *testing.T) {
	server := func(tr graphql.Transport) http.Handler {
		srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: resolvers.New(nil, slog.Default())}))
		srv.AddTransport(tr)
		srv.Use(extension.Introspection{})
		return srv
	}
	ours, gqlgens := server(post{}), server(transport.POST{})
	introspection := `{ __schema { types { name kind description fields(includeDeprecated: true) { name description args { name description defaultValue } } enumValues { name description } } } }`
	for _, c := range []struct{ name, body, accept string }{
		{"typename", `{"query":"{ __typename }"}`, ""},
		{"introspection", `{"query":` + quote(introspection) + `}`, ""},
		{"introspection, graphql-response+json", `{"query":` + quote(introspection) + `}`, "application/graphql-response+json"},
		{"parse error", `{"query":"{"}`, ""},
		{"parse error, graphql-response+json", `{"query":"{"}`, "application/graphql-response+json"},
		{"validation error", `{"query":"{ nope <b> & }"}`, "*/*"},
		{"unknown operation", `{"query":"query A { __typename }","operationName":"B"}`, "text/html"},
		{"variable of the wrong type", `{"query":"query($n: Int) { __typename }","variables":{"n":"<x>"}}`, "application/json;q=0.9, application/graphql-response+json"},
		{"body not JSON", `{"query":`, ""},
		{"body not an object", `["<script>"]`, "application/graphql-response+json"},
		{"no query", `{}`, ""},
	} {
		answer := func(h http.Handler) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(c.body))
			r.Header.Set("Content-Type", "application/json")
			if c.accept != "" {
				r.Header.Set("Accept", c.accept)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		got, want := answer(ours), answer(gqlgens)
		if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") || got.Body.String() != want.Body.String() {
			t.Errorf("%s:\n got %d %s %s\nwant %d %s %s", c.name, got.Code, got.Header().Get("Content-Type"), got.Body,
				want.Code, want.Header().Get("Content-Type"), want.Body)
		}
		if c.name == "introspection" && (want.Code != http.StatusOK || !bytes.Contains(want.Body.Bytes(), []byte(`"types":[{`))) {
			t.Errorf("introspection answered no schema to compare: %d %.200s", want.Code, want.Body)
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// appendResponse writes what encoding/json writes for a graphql.Response,
// for data as gqlgen writes it (strings by its own quoting) and every
// shape of errors and extensions.
func TestAppendResponseIsWhatEncodingJSONWrites(t *testing.T) {
	yes := true
	for name, resp := range map[string]*graphql.Response{
		"data":                    {Data: gqlgenObject("a <b> & \u2028 \u2029 \u2027 é \"q\" \\ \n\t\x01")},
		"no data":                 {},
		"empty data":              {Data: json.RawMessage{}},
		"null data":               {Data: json.RawMessage("null")},
		"errors and data":         {Errors: gqlerror.List{{Message: "<bad> & worse", Path: ast.Path{ast.PathName("a"), ast.PathIndex(1)}, Extensions: map[string]any{"code": "X"}}}, Data: gqlgenObject("x")},
		"errors only":             {Errors: gqlerror.List{{Message: "m", Locations: []gqlerror.Location{{Line: 1, Column: 2}}}}},
		"extensions":              {Data: gqlgenObject("x"), Extensions: map[string]any{"stale": map[string]any{"ageSeconds": 3, "note": "<x>"}}},
		"errors, data, extension": {Errors: gqlerror.List{{Message: "m"}}, Data: gqlgenObject("x"), Extensions: map[string]any{"k": []int{1}}},
		"incremental part":        {Data: gqlgenObject("x"), Label: "l", Path: ast.Path{ast.PathName("a")}, HasNext: &yes},
		"truncated U+2028":        {Data: json.RawMessage(`["` + "\xe2\x80" + `"]`)},
	} {
		want, err := json.Marshal(resp)
		if err != nil {
			if name == "empty data" {
				// encoding/json refuses an empty RawMessage (gqlgen's
				// transport would panic); null is what it means.
				want = []byte(`{"data":null}`)
			} else {
				t.Fatalf("%s: %v", name, err)
			}
		}
		got, err := appendResponse(nil, resp)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s (%v)\nwant %s", name, got, err, want)
		}
	}
}

// FuzzAppendData: for any string a resolver returns, data as gqlgen writes
// it comes out as encoding/json would write it.
func FuzzAppendData(f *testing.F) {
	for _, s := range []string{"", "plain", "<>&", "\u2028\u2029", "\xe2\x80\xa8", "\xe2\x80", "\xff\xfe", "é\x00\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		data := gqlgenObject(s)
		want, err := json.Marshal(&graphql.Response{Data: data})
		if err != nil {
			// gqlgen's transport would panic on it: appendData's premise
			// (the executor writes valid JSON) would be wrong.
			t.Fatalf("%q: gqlgen wrote data encoding/json refuses: %v: %s", s, err, data)
		}
		got, err := appendResponse(nil, &graphql.Response{Data: data})
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s (%v)\nwant %s", s, got, err, want)
		}
	})
}

// gqlgenObject is data as gqlgen's executor writes it: an object holding s
// as a string, in a list, and as a FieldValue (graphql.Any, which
// encoding/json writes with a newline after it), with a number and a
// boolean.
func gqlgenObject(s string) json.RawMessage {
	fs := graphql.NewFieldSet([]graphql.CollectedField{
		{Field: &ast.Field{Alias: "s"}}, {Field: &ast.Field{Alias: "list"}}, {Field: &ast.Field{Alias: "any"}},
		{Field: &ast.Field{Alias: "n"}}, {Field: &ast.Field{Alias: "b"}},
	})
	fs.Values[0] = graphql.MarshalString(s)
	fs.Values[1] = graphql.Array{graphql.MarshalString(s), graphql.Null, graphql.MarshalString("<" + s + ">")}
	fs.Values[2] = graphql.Array{graphql.MarshalAny(s), graphql.MarshalAny(map[string]any{"k": []any{s, true, 1.5}}), graphql.MarshalAny(nil)}
	fs.Values[3] = graphql.MarshalFloat(0.3333333333333333)
	fs.Values[4] = graphql.MarshalBoolean(true)
	var b bytes.Buffer
	fs.MarshalGQL(&b)
	return b.Bytes()
}
