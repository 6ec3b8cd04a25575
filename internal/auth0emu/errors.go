package auth0emu

import (
	"fmt"
	"net/http"
)

// APIError is a Management API error as Auth0 shapes it. The HTTP routes
// answer with it and the Go API (CreateUser) returns it, so tests can check
// errorCode either way.
type APIError struct {
	StatusCode int    `json:"statusCode"`
	Err        string `json:"error"`
	Message    string `json:"message"`
	ErrorCode  string `json:"errorCode,omitempty"`
}

func (e *APIError) Error() string {
	if e.ErrorCode != "" {
		return fmt.Sprintf("auth0emu: %d %s: %s (%s)", e.StatusCode, e.Err, e.Message, e.ErrorCode)
	}
	return fmt.Sprintf("auth0emu: %d %s: %s", e.StatusCode, e.Err, e.Message)
}

func apiError(status int, message, code string) *APIError {
	return &APIError{StatusCode: status, Err: http.StatusText(status), Message: message, ErrorCode: code}
}

func (e *APIError) response() response { return jsonResponse(e.StatusCode, e) }

func invalidBody(format string, args ...any) *APIError {
	return apiError(http.StatusBadRequest, "Payload validation error: "+fmt.Sprintf(format, args...), "invalid_body")
}

func invalidQuery(format string, args ...any) *APIError {
	return apiError(http.StatusBadRequest, "Query validation error: "+fmt.Sprintf(format, args...), "invalid_query_string")
}

func errUserNotFound() *APIError {
	return apiError(http.StatusNotFound, "The user does not exist.", "inexistent_user")
}

// oauthError is the Authentication API's error shape.
func oauthError(status int, code, description string) response {
	return jsonResponse(status, map[string]string{"error": code, "error_description": description})
}
