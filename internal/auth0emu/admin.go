package auth0emu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// faultRequest is the JSON form of a Fault for POST /emulator/faults.
type faultRequest struct {
	Route         Route  `json:"route"`
	Latency       string `json:"latency"`
	Hang          bool   `json:"hang"`
	Status        int    `json:"status"`
	RateLimited   bool   `json:"rate_limited"`
	RetryAfter    string `json:"retry_after"`
	MalformedJSON bool   `json:"malformed_json"`
	Body          string `json:"body"`
	Times         int    `json:"times"`
}

func (f faultRequest) fault() (Fault, error) {
	if !slices.Contains(Routes(), f.Route) {
		return Fault{}, fmt.Errorf("unknown route %q; routes are %q", f.Route, Routes())
	}
	out := Fault{
		Hang: f.Hang, Status: f.Status, RateLimited: f.RateLimited,
		MalformedJSON: f.MalformedJSON, Times: f.Times,
	}
	if f.Latency != "" {
		d, err := time.ParseDuration(f.Latency)
		if err != nil || d < 0 {
			return Fault{}, fmt.Errorf("latency must be a duration such as \"250ms\", got %q", f.Latency)
		}
		out.Latency = d
	}
	if f.RetryAfter != "" {
		d, err := time.ParseDuration(f.RetryAfter)
		if err != nil || d < 0 {
			return Fault{}, fmt.Errorf("retry_after must be a duration such as \"2s\", got %q", f.RetryAfter)
		}
		out.RetryAfter = d
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return Fault{}, fmt.Errorf("status must be 400-599, got %d", f.Status)
	}
	if f.Times < 0 {
		return Fault{}, fmt.Errorf("times must not be negative, got %d", f.Times)
	}
	if f.Body != "" {
		out.Body = []byte(f.Body)
	}
	return out, nil
}

// admin serves /emulator/*, the stand-alone command's remote control. It
// requires HTTP Basic with the configured client id and secret.
func (s *Server) admin(w http.ResponseWriter, r *http.Request, action string) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.cfg.ClientID || !equalSecret(secret, s.cfg.ClientSecret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="auth0emu"`)
		writeResponse(w, unauthorizedClient())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeResponse(w, adminError(http.StatusRequestEntityTooLarge, "request body larger than 1 MiB"))
		return
	}
	resp := s.adminAction(r.Method, action, body)
	writeResponse(w, resp)
	s.cfg.Logf("auth0emu: admin %s /emulator/%s → %d", r.Method, action, resp.status)
}

func adminError(status int, msg string) response {
	return jsonResponse(status, map[string]string{"error": msg})
}

func decodeAdmin(body []byte, v any) error {
	if len(body) == 0 {
		return errors.New("request body is empty; send a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("request body is not the expected JSON object: %v", err)
	}
	return nil
}

func (s *Server) adminAction(method, action string, body []byte) response {
	switch {
	case method == http.MethodPost && action == "users":
		var u NewUser
		if err := decodeAdmin(body, &u); err != nil {
			return adminError(http.StatusBadRequest, err.Error())
		}
		doc, err := s.CreateUser(u)
		if err != nil {
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				return apiErr.response()
			}
			return adminError(http.StatusBadRequest, err.Error())
		}
		return jsonResponse(http.StatusCreated, doc)
	case method == http.MethodPost && action == "tokens":
		var in struct {
			UserID string `json:"user_id"`
		}
		if err := decodeAdmin(body, &in); err != nil {
			return adminError(http.StatusBadRequest, err.Error())
		}
		token, err := s.IssueAccessToken(in.UserID)
		if err != nil {
			return adminError(http.StatusNotFound, fmt.Sprintf("no user %q", in.UserID))
		}
		return jsonResponse(http.StatusOK, map[string]any{
			"access_token": token, "token_type": "Bearer",
			"expires_in": int64(s.cfg.TokenTTL / time.Second), "scope": defaultUserScope,
		})
	case method == http.MethodPost && action == "keys/rotate":
		return jsonResponse(http.StatusOK, map[string]any{"kid": s.RotateKey(), "kids": s.KeyIDs()})
	case method == http.MethodPost && action == "keys/retire":
		var in struct {
			KID string `json:"kid"`
		}
		if err := decodeAdmin(body, &in); err != nil {
			return adminError(http.StatusBadRequest, err.Error())
		}
		if !slices.Contains(s.KeyIDs(), in.KID) {
			return adminError(http.StatusNotFound, fmt.Sprintf("no served key %q", in.KID))
		}
		if len(s.KeyIDs()) == 1 {
			return adminError(http.StatusConflict, "cannot retire the only key; rotate first")
		}
		s.RetireKey(in.KID)
		return jsonResponse(http.StatusOK, map[string]any{"kids": s.KeyIDs()})
	case method == http.MethodPost && action == "faults":
		var in faultRequest
		if err := decodeAdmin(body, &in); err != nil {
			return adminError(http.StatusBadRequest, err.Error())
		}
		f, err := in.fault()
		if err != nil {
			return adminError(http.StatusBadRequest, err.Error())
		}
		s.SetFault(in.Route, f)
		return jsonResponse(http.StatusOK, map[string]any{"route": in.Route})
	case method == http.MethodPost && action == "faults/clear":
		s.ClearFaults()
		return jsonResponse(http.StatusOK, map[string]any{"cleared": true})
	case method == http.MethodGet && action == "counts":
		return jsonResponse(http.StatusOK, s.Counts())
	case method == http.MethodGet && action == "connections":
		// Monotonic, never reset: a load test reads it before and after.
		return jsonResponse(http.StatusOK, map[string]int64{"connections": s.Connections()})
	case method == http.MethodPost && action == "counts/reset":
		s.ResetCounters()
		return jsonResponse(http.StatusOK, map[string]any{"reset": true})
	}
	return adminError(http.StatusNotFound, "no admin route "+method+" /emulator/"+url.PathEscape(action))
}
