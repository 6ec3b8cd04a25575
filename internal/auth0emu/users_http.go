package auth0emu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

type attrKind int

const (
	kindString attrKind = iota
	kindBool
	kindObject
)

func (k attrKind) String() string {
	return [...]string{"string", "boolean", "object"}[k]
}

// Root attributes Auth0's schemas accept on creation and on update.
var (
	createAttrs = map[string]attrKind{
		"user_id": kindString, "connection": kindString, "email": kindString, "password": kindString,
		"username": kindString, "phone_number": kindString, "given_name": kindString,
		"family_name": kindString, "name": kindString, "nickname": kindString, "picture": kindString,
		"email_verified": kindBool, "phone_verified": kindBool, "verify_email": kindBool, "blocked": kindBool,
		"user_metadata": kindObject, "app_metadata": kindObject,
	}
	updateAttrs = map[string]attrKind{
		"connection": kindString, "email": kindString, "password": kindString, "username": kindString,
		"phone_number": kindString, "given_name": kindString, "family_name": kindString,
		"name": kindString, "nickname": kindString, "picture": kindString, "client_id": kindString,
		"email_verified": kindBool, "phone_verified": kindBool, "verify_email": kindBool,
		"verify_phone_number": kindBool, "blocked": kindBool,
		"user_metadata": kindObject, "app_metadata": kindObject,
	}
	// maxLength bounds the free-text root attributes as Auth0's schema does.
	maxLength = map[string]int{
		"given_name": 150, "family_name": 150, "name": 300, "nickname": 300, "username": 128,
	}
	// storedRootAttrs are written into the user as given; the rest are
	// actions (verify_email, client_id) or handled specially.
	storedRootAttrs = []string{
		"given_name", "family_name", "name", "nickname", "picture", "phone_number",
		"email_verified", "phone_verified", "blocked", "username",
	}
)

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// decodeObject parses a request body that must be one JSON object.
func decodeObject(body []byte) (map[string]any, *APIError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalidBody("'Invalid JSON: %v'", err)
	}
	if dec.More() {
		return nil, invalidBody("'Invalid JSON: trailing data after the object'")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalidBody("'Expected type object but found type %s'", jsonType(v))
	}
	return m, nil
}

// checkAttrs validates body against a schema: no unknown attribute, every
// value of its type, bounded text, valid metadata field names.
func checkAttrs(body map[string]any, schema map[string]attrKind) *APIError {
	for _, k := range slices.Sorted(maps.Keys(body)) {
		kind, known := schema[k]
		if !known {
			return invalidBody("'Additional properties not allowed: %s'", k)
		}
		v := body[k]
		ok := false
		switch kind {
		case kindString:
			_, ok = v.(string)
		case kindBool:
			_, ok = v.(bool)
		case kindObject:
			_, ok = v.(map[string]any)
		}
		if !ok {
			return invalidBody("'Expected type %s but found type %s' on property %s", kind, jsonType(v), k)
		}
		if str, isString := v.(string); isString {
			n := utf8.RuneCountInString(str)
			if n == 0 {
				return invalidBody("'String is too short (0 chars), minimum 1' on property %s", k)
			}
			if limit, bounded := maxLength[k]; bounded && n > limit {
				return invalidBody("'String is too long (%d chars), maximum %d' on property %s", n, limit, k)
			}
		}
		if kind == kindObject {
			if apiErr := checkMetadataKeys(k, v.(map[string]any)); apiErr != nil {
				return apiErr
			}
		}
	}
	if email, ok := body["email"].(string); ok {
		return checkEmail(email)
	}
	return nil
}

// checkMetadataKeys rejects field names with "." or "$" at any depth, as
// Auth0 documents for metadata.
func checkMetadataKeys(property string, v any) *APIError {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if strings.ContainsAny(k, ".$") {
				return invalidBody("'Field names must not contain \".\" or \"$\": %q' on property %s", k, property)
			}
			if apiErr := checkMetadataKeys(property, v[k]); apiErr != nil {
				return apiErr
			}
		}
	case []any:
		for _, e := range v {
			if apiErr := checkMetadataKeys(property, e); apiErr != nil {
				return apiErr
			}
		}
	}
	return nil
}

func (s *Server) createUserHTTP(req request) response {
	body, apiErr := decodeObject(req.body)
	if apiErr == nil {
		apiErr = checkAttrs(body, createAttrs)
	}
	if apiErr != nil {
		return apiErr.response()
	}
	connection, _ := body["connection"].(string)
	if connection == "" {
		return invalidBody("'Missing required property: connection'").response()
	}
	if slices.Contains(socialStrategies, connection) {
		return apiError(http.StatusBadRequest, "Connection is not supported for this operation.", "operation_not_supported").response()
	}
	in := createInput{
		connection:   connection,
		provider:     "auth0",
		database:     true,
		root:         map[string]any{},
		userMetadata: objectOrNil(body["user_metadata"]),
		appMeta:      objectOrNil(body["app_metadata"]),
	}
	in.email, _ = body["email"].(string)
	in.password, _ = body["password"].(string)
	in.username, _ = body["username"].(string)
	if id, ok := body["user_id"].(string); ok {
		in.id = "auth0|" + id
	}
	for _, k := range storedRootAttrs {
		if v, ok := body[k]; ok && k != "username" {
			in.root[k] = v
		}
	}
	if apiErr := in.validate(); apiErr != nil {
		return apiErr.response()
	}
	doc, apiErr := s.insert(in)
	if apiErr != nil {
		return apiErr.response()
	}
	return jsonResponse(http.StatusCreated, doc)
}

func objectOrNil(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func (s *Server) getUserHTTP(req request) response {
	q := req.URL.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if k != "fields" && k != "include_fields" {
			return invalidQuery("'Additional properties not allowed: %s'", k).response()
		}
	}
	include := true
	switch q.Get("include_fields") {
	case "", "true":
	case "false":
		include = false
	default:
		return invalidQuery("'Expected type boolean but found type string' on property include_fields").response()
	}
	u, ok := s.User(req.userID)
	if !ok {
		return errUserNotFound().response()
	}
	return jsonResponse(http.StatusOK, selectFields(u, q.Get("fields"), include))
}

// selectFields keeps (include) or drops the comma-separated fields; an empty
// list keeps everything.
func selectFields(u map[string]any, fields string, include bool) map[string]any {
	var names []string
	for f := range strings.SplitSeq(fields, ",") {
		if f = strings.TrimSpace(f); f != "" {
			names = append(names, f)
		}
	}
	if len(names) == 0 {
		return u
	}
	out := map[string]any{}
	for k, v := range u {
		if slices.Contains(names, k) == include {
			out[k] = v
		}
	}
	return out
}

func (s *Server) patchUserHTTP(req request) response {
	if len(req.URL.Query()) > 0 {
		for k := range req.URL.Query() {
			return invalidQuery("'Additional properties not allowed: %s'", k).response()
		}
	}
	body, apiErr := decodeObject(req.body)
	if apiErr == nil && len(body) == 0 {
		apiErr = invalidBody("'Too few properties defined (0), minimum 1'")
	}
	if apiErr == nil {
		apiErr = checkAttrs(body, updateAttrs)
	}
	if apiErr != nil {
		return apiErr.response()
	}
	doc, apiErr := s.update(req.userID, body)
	if apiErr != nil {
		return apiErr.response()
	}
	return jsonResponse(http.StatusOK, doc)
}

// update applies a schema-checked PATCH body atomically: everything that
// depends on the stored user is checked before anything changes.
func (s *Server) update(id string, body map[string]any) (map[string]any, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.users[id]
	if !ok {
		return nil, errUserNotFound()
	}
	if conn, ok := body["connection"].(string); ok && !rec.hasConnection(conn) {
		return nil, apiError(http.StatusBadRequest, "The user does not have an identity in connection "+conn+".", "invalid_body")
	}
	password, setPassword := body["password"].(string)
	if setPassword && !rec.database {
		return nil, apiError(http.StatusBadRequest, "Cannot update password for non-database connections.", "operation_not_supported")
	}
	oldEmail, _ := rec.doc["email"].(string)
	newEmail, setEmail := body["email"].(string)
	if setEmail && rec.database {
		newEmail = strings.ToLower(newEmail)
	}
	emailChanged := setEmail && !strings.EqualFold(newEmail, oldEmail)
	if emailChanged {
		if _, taken := s.emails[emailKey(rec.connection, newEmail)]; taken {
			return nil, apiError(http.StatusConflict, "The specified new email already exists", "email_conflict")
		}
	}

	now := s.now()
	for _, k := range storedRootAttrs {
		if v, ok := body[k]; ok {
			rec.doc[k] = v
		}
	}
	if emailChanged {
		delete(s.emails, emailKey(rec.connection, oldEmail))
		s.emails[emailKey(rec.connection, newEmail)] = id
		rec.doc["email"] = newEmail
		if _, verified := body["email_verified"]; !verified {
			rec.doc["email_verified"] = false
		}
	}
	for _, key := range []string{"user_metadata", "app_metadata"} {
		if patch, ok := body[key].(map[string]any); ok {
			merged := mergeMetadata(objectOrNil(rec.doc[key]), patch)
			if len(merged) == 0 {
				delete(rec.doc, key)
			} else {
				rec.doc[key] = merged
			}
		}
	}
	stamp := rec.stamp(now)
	if setPassword {
		rec.salt, rec.hash = hashPassword(password)
		rec.doc["last_password_reset"] = stamp
	}
	return deepCopyObject(rec.doc), nil
}

func (rec *userRecord) hasConnection(conn string) bool {
	ids, _ := rec.doc["identities"].([]any)
	for _, i := range ids {
		if m, ok := i.(map[string]any); ok && m["connection"] == conn {
			return true
		}
	}
	return false
}

// mergeMetadata is Auth0's PATCH merge: top-level keys replace (nested
// objects whole), null deletes a key, an empty object clears everything.
func mergeMetadata(current, patch map[string]any) map[string]any {
	if len(patch) == 0 {
		return nil
	}
	out := deepCopyObject(current)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = deepCopyValue(v)
	}
	return out
}
