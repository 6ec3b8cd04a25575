package auth

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// Middleware verifies a bearer token when the request carries one.
//
// A request without an Authorization header goes on anonymously: the API
// decides per operation what an anonymous caller may do (introspection, for
// example). A request with a header that does not hold a valid bearer token
// is answered 401 with a WWW-Authenticate challenge (RFC 6750) and never
// reaches the API, so no resolver or upstream call ever sees a bad token.
func Middleware(v *Verifier, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Values("Authorization")
		if len(header) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		// Checked before any parsing: an oversized or repeated header is
		// refused without decoding a byte of it.
		if len(header) > 1 || len(header[0]) > MaxTokenBytes+len("Bearer ") {
			v.refused.WithLabelValues(ReasonHeader).Inc()
			refuse(w, `Bearer error="invalid_request", error_description="malformed Authorization header"`)
			return
		}
		scheme, token, ok := strings.Cut(header[0], " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			v.refused.WithLabelValues(ReasonHeader).Inc()
			refuse(w, `Bearer error="invalid_request", error_description="expected a Bearer access token"`)
			return
		}
		p, err := v.Verify(r.Context(), strings.TrimSpace(token))
		if err != nil {
			// Debug, not Info: a flood of forged tokens must not flood the
			// log; bff_auth_tokens_refused_total counts every refusal.
			log.LogAttrs(r.Context(), slog.LevelDebug, "access token refused",
				slog.String("reason", ReasonOf(err)), slog.String("detail", err.Error()))
			// A token our tenant signed for another audience or issuer is
			// an operator's misconfiguration: say so where operators look,
			// once a minute.
			var mismatch *ClaimMismatch
			if errors.As(err, &mismatch) && v.mismatchLog.Allow() {
				log.LogAttrs(r.Context(), slog.LevelWarn, "refusing tokens the tenant signed for another "+mismatch.Claim+
					"; check AUTH0_AUDIENCE and AUTH0_ISSUER against the tokens clients get (logged at most once a minute)",
					slog.String("claim", mismatch.Claim), slog.String("expected", mismatch.Expected),
					slog.Any("token_has", mismatch.Got))
			}
			refuse(w, `Bearer error="invalid_token", error_description="the access token is invalid or expired"`)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// refusal is a GraphQL-shaped body, so clients that only read JSON errors
// still see the code they branch on.
const refusal = `{"errors":[{"message":"The access token is missing, invalid or expired.","extensions":{"code":"UNAUTHENTICATED"}}]}`

func refuse(w http.ResponseWriter, challenge string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(refusal))
}
