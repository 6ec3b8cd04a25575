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
//
// refuse writes the refusal's status and body (the GraphQL endpoint's
// UNAUTHENTICATED error) after Middleware has set the challenge headers.
func Middleware(v *Verifier, log *slog.Logger, refuse func(http.ResponseWriter), next http.Handler) http.Handler {
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
			challenge(w, refuse, `Bearer error="invalid_request", error_description="malformed Authorization header"`)
			return
		}
		scheme, token, ok := strings.Cut(header[0], " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			v.refused.WithLabelValues(ReasonHeader).Inc()
			challenge(w, refuse, `Bearer error="invalid_request", error_description="expected a Bearer access token"`)
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
			challenge(w, refuse, `Bearer error="invalid_token", error_description="the access token is invalid or expired"`)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// challenge sets the RFC 6750 challenge and hands the body to refuse.
func challenge(w http.ResponseWriter, refuse func(http.ResponseWriter), value string) {
	w.Header().Set("WWW-Authenticate", value)
	w.Header().Set("Cache-Control", "no-store")
	refuse(w)
}
