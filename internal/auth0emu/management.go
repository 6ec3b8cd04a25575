package auth0emu

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// management guards a /api/v2 handler: a Management API token from this
// emulator with the needed scope, then the rate limit. Every answer carries
// the X-RateLimit-* headers.
func (s *Server) management(scope string, next routeHandler) routeHandler {
	return func(req request) response {
		if apiErr := s.authorize(req.Request, scope); apiErr != nil {
			resp := apiErr.response()
			s.rateLimitHeaders(resp.header)
			return resp
		}
		if !s.limiter.AllowN(s.now(), 1) {
			return s.rateLimitedResponse(true, 0)
		}
		resp := next(req)
		s.rateLimitHeaders(resp.header)
		return resp
	}
}

func (s *Server) authorize(r *http.Request, scope string) *APIError {
	raw, ok := bearerToken(r)
	if !ok {
		if r.Header.Get("Authorization") == "" {
			return apiError(http.StatusUnauthorized, "Missing authentication", "")
		}
		return apiError(http.StatusUnauthorized, "Bad HTTP authentication header format", "")
	}
	claims, err := s.verify(raw, s.Issuer(), s.ManagementAudience())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return apiError(http.StatusUnauthorized, "Expired token received for JSON Web Token validation", "")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return apiError(http.StatusUnauthorized, "Bad audience: "+strings.Join(audiences(raw), " "), "")
	case err != nil:
		return apiError(http.StatusUnauthorized, "Invalid token", "")
	}
	granted, _ := claims["scope"].(string)
	if !slices.Contains(strings.Fields(granted), scope) {
		return apiError(http.StatusForbidden, "Insufficient scope, expected any of: "+scope, "insufficient_scope")
	}
	return nil
}

// audiences reads aud from an unverified token, only to word an error.
func audiences(raw string) []string {
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		return nil
	}
	aud, _ := claims.GetAudience()
	return aud
}

// rateLimitHeaders describes the token bucket without taking a token.
func (s *Server) rateLimitHeaders(h http.Header) {
	now := s.now()
	burst := s.limiter.Burst()
	limit := float64(s.limiter.Limit())
	if math.IsInf(limit, 1) {
		setRateLimitHeaders(h, burst, burst, now)
		return
	}
	tokens := s.limiter.TokensAt(now)
	reset := now
	if limit > 0 && tokens < float64(burst) {
		reset = now.Add(time.Duration((float64(burst) - tokens) / limit * float64(time.Second)))
	}
	setRateLimitHeaders(h, burst, int(math.Max(0, math.Floor(tokens))), reset)
}

func setRateLimitHeaders(h http.Header, limit, remaining int, reset time.Time) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	// Unix seconds, rounded up so the bucket really is full by then.
	h.Set("X-RateLimit-Reset", strconv.FormatInt((reset.UnixNano()+int64(time.Second)-1)/int64(time.Second), 10))
}

// rateLimitedResponse is Auth0's 429 with Retry-After: the whole seconds
// until the bucket holds a token again (at least 1), or until after when
// that is positive (an injected fault).
func (s *Server) rateLimitedResponse(managementAPI bool, after time.Duration) response {
	now := s.now()
	retry := 1
	if limit := float64(s.limiter.Limit()); limit > 0 && !math.IsInf(limit, 1) {
		need := 1 - s.limiter.TokensAt(now)
		retry = max(1, int(math.Ceil(need/limit)))
	}
	if after > 0 {
		retry = int(math.Ceil(after.Seconds()))
	}
	var resp response
	if managementAPI {
		resp = apiError(http.StatusTooManyRequests, "Global limit has been reached", "too_many_requests").response()
		setRateLimitHeaders(resp.header, s.limiter.Burst(), 0, now.Add(time.Duration(retry)*time.Second))
	} else {
		resp = oauthError(http.StatusTooManyRequests, "too_many_requests", "Global limit has been reached")
	}
	resp.header.Set("Retry-After", strconv.Itoa(retry))
	return resp
}
