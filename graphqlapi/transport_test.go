package graphqlapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The transport refusals without a service: a request that got through
// would reach a resolver with a nil service and answer INTERNAL.
func TestTransportRefusalsWithoutAService(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewHandler(nil, HandlerOptions{MaxBodyBytes: 1 << 10, Metrics: reg})
	refused := func(limit string) float64 {
		m, _ := reg.Gather()
		for _, f := range m {
			if f.GetName() == RefusedOperationsMetric {
				for _, s := range f.GetMetric() {
					if s.GetLabel()[0].GetValue() == limit {
						return s.GetCounter().GetValue()
					}
				}
			}
		}
		return -1
	}
	for _, c := range []struct {
		name, method, body string
		status             int
		allow, limit       string
	}{
		{"trailing garbage", http.MethodPost, `{"query":"{ __typename }"} x`, 400, "", ""},
		{"two objects", http.MethodPost, `{"query":"{ __typename }"}{"query":"{ __typename }"}`, 400, "", ""},
		{"PATCH", http.MethodPatch, `{"query":"{ __typename }"}`, 405, "GET, POST", LimitMethod},
		{"body over the cap", http.MethodPost, `{"query":"{ __typename }","variables":{"pad":"` + strings.Repeat("x", 1<<10) + `"}}`, 413, "", LimitBody},
	} {
		r := httptest.NewRequest(c.method, "/graphql", strings.NewReader(c.body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.status || w.Header().Get("Allow") != c.allow || !strings.Contains(w.Body.String(), `"code":"GRAPHQL_VALIDATION_FAILED"`) {
			t.Errorf("%s: %d Allow %q %s", c.name, w.Code, w.Header().Get("Allow"), w.Body)
		}
		if c.limit != "" && refused(c.limit) != 1 {
			t.Errorf("%s: %s{limit=%q} = %v, want 1", c.name, RefusedOperationsMetric, c.limit, refused(c.limit))
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/graphql?query="+strings.ReplaceAll(`mutation { skipFields(input: {keys: []}) { userErrors { code } } }`, " ", "+"), nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET mutation: %d Allow %q %s", w.Code, w.Header().Get("Allow"), w.Body)
	}
}
