package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// fuzzFixture is one key server and verifier shared by every input of a
// fuzz run: a new RSA key per input would drown the parsing being fuzzed.
type fuzzFixture struct {
	ks *keyServer
	v  *Verifier
	// near is a token signed by a key the JWKS does not hold, under the kid
	// it does hold: its mutations reach kid lookup and signature checks.
	near string
}

func newFuzzFixture(f *testing.F) *fuzzFixture {
	ks := newKeyServer(f)
	ks.addKey(f, "fuzz-kid")
	// newTestVerifier allows one unknown-kid refetch per hour: no input
	// ever waits on the network.
	v := newTestVerifier(f, ks)
	return &fuzzFixture{ks: ks, v: v, near: sign(f, jwt.SigningMethodRS256, ks.addKeyUnpublished(f), "fuzz-kid", userClaims(ks))}
}

// tooManyFetches fails when inputs made the verifier go back to the tenant
// more than the start-up fetch and the one refetch the rate limit allows.
func (fx *fuzzFixture) tooManyFetches(t *testing.T) {
	if n := fx.ks.fetches.Load(); n > 2 {
		t.Fatalf("JWKS fetched %d times: inputs made the verifier hammer the tenant", n)
	}
}

// fuzzSeeds are near misses signed in this run, under the kid the JWKS
// holds; the matrix's other shapes are the committed corpus in
// testdata/fuzz/<FuzzName>/.
func fuzzSeeds(near string) []string {
	return []string{"Bearer " + near, "bearer " + near, "Bearer  " + near + " ", "Bearer " + near + "="}
}

// FuzzMiddleware feeds arbitrary Authorization header values through the
// middleware. None may panic, none may reach the API (no input can carry a
// signature of the published key), every one gets the fixed 401, and none
// may cost a JWKS fetch beyond the rate limit.
func FuzzMiddleware(f *testing.F) {
	fx := newFuzzFixture(f)
	for _, s := range fuzzSeeds(fx.near) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		h := Middleware(fx.v, discardLogger(), refuseForTest, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			t.Errorf("header %q reached the API", header)
		}))
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r.Header["Authorization"] = []string{header}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer ") {
			t.Fatalf("header %q: status %d, challenge %q; want 401 with a Bearer challenge", header, w.Code, w.Header().Get("WWW-Authenticate"))
		}
		if w.Body.String() != refusal {
			t.Fatalf("header %q: body %q is not the fixed refusal", header, w.Body.String())
		}
		fx.tooManyFetches(t)
	})
}

// FuzzVerify feeds arbitrary token strings to the verifier directly, past
// the middleware's header checks.
func FuzzVerify(f *testing.F) {
	fx := newFuzzFixture(f)
	for _, s := range fuzzSeeds(fx.near) {
		_, token, _ := strings.Cut(s, " ")
		f.Add(token)
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := fx.v.Verify(context.Background(), token)
		if err == nil {
			t.Fatalf("token %q accepted as %+v", token, p)
		}
		if ReasonOf(err) == "" {
			t.Fatalf("token %q: refusal without a reason class: %v", token, err)
		}
		fx.tooManyFetches(t)
	})
}
