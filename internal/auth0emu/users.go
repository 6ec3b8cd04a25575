package auth0emu

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// NewUser describes a user to create with CreateUser (or POST
// /emulator/users, whose JSON keys are the tags below).
type NewUser struct {
	// ID is the complete user id, e.g. "auth0|65f0..." or
	// "google-oauth2|1098..."; empty means Provider + "|" + 24 random hex
	// digits. An id without "|" gets the provider prefix.
	ID string `json:"user_id,omitempty"`
	// Connection is required, e.g. DatabaseConnection or "google-oauth2".
	Connection string `json:"connection"`
	Email      string `json:"email,omitempty"`
	// Password is required for database connections. A social user may
	// have one too, so dev mode can log in as that user.
	Password    string `json:"password,omitempty"`
	GivenName   string `json:"given_name,omitempty"`
	FamilyName  string `json:"family_name,omitempty"`
	Name        string `json:"name,omitempty"`
	Nickname    string `json:"nickname,omitempty"`
	Picture     string `json:"picture,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	// EmailVerified is stored as given (false when omitted).
	EmailVerified bool `json:"email_verified,omitempty"`
	// Provider is the identity provider: "auth0" for database connections
	// (the default), e.g. "google-oauth2" for social ones.
	Provider string `json:"provider,omitempty"`
	IsSocial bool   `json:"isSocial,omitempty"`
	// Attributes are further root attributes, as an enterprise connection
	// (SAML, OIDC) maps them from its identity provider: company, title,
	// department, ... They may not name an attribute the emulator manages
	// (user_id, email, identities, user_metadata, logins_count, ...).
	Attributes map[string]any `json:"attributes,omitempty"`
	// LinkedIdentities are secondary identities linked to this user, after
	// the primary one. Auth0 gives only these a profileData: the primary
	// identity's profile is the user's root.
	LinkedIdentities []LinkedIdentity `json:"linked_identities,omitempty"`
	UserMetadata     map[string]any   `json:"user_metadata,omitempty"`
	AppMetadata      map[string]any   `json:"app_metadata,omitempty"`
	// LoginsCount and LastLogin seed a login history; CreatedAt defaults to
	// now. A positive LoginsCount without LastLogin logs in at CreatedAt.
	LoginsCount int64     `json:"logins_count,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	LastLogin   time.Time `json:"last_login,omitzero"`
}

// LinkedIdentity is a secondary identity as Auth0 lists it in identities
// once accounts are linked.
type LinkedIdentity struct {
	Connection string `json:"connection"`
	// Provider defaults to Connection.
	Provider string `json:"provider,omitempty"`
	// UserID is the provider's id; a provider in numericIdentityIDs gets it
	// as a JSON number, as Auth0 answers.
	UserID      string         `json:"user_id"`
	IsSocial    bool           `json:"isSocial,omitempty"`
	ProfileData map[string]any `json:"profileData,omitempty"`
}

// numericIdentityIDs are the providers whose identity user_id Auth0 returns
// as a JSON number (a known inconsistency go-auth0 copes with).
var numericIdentityIDs = []string{"github"}

// identityUserID is an identity's user_id as Auth0 writes it.
func identityUserID(provider, id string) any {
	if slices.Contains(numericIdentityIDs, provider) {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n >= 0 && n < 1<<53 {
			return float64(n)
		}
	}
	return id
}

// managedAttributes are root attributes the emulator sets itself, so
// NewUser.Attributes may not name them.
var managedAttributes = []string{
	"user_id", "email", "email_verified", "username", "given_name", "family_name", "name", "nickname",
	"picture", "phone_number", "phone_verified", "identities", "user_metadata", "app_metadata",
	"created_at", "updated_at", "last_login", "logins_count", "last_password_reset", "blocked", "password",
}

// userRecord is one stored user: the JSON object a GET returns plus what
// Auth0 never returns.
type userRecord struct {
	doc        map[string]any
	connection string // of the primary identity
	database   bool
	salt, hash []byte // nil when the user has no password
	updatedAt  time.Time
}

// socialStrategies are connection names the Management API cannot create
// users in.
var socialStrategies = []string{
	"google-oauth2", "github", "facebook", "apple", "windowslive", "twitter", "linkedin",
}

// auth0Time is Auth0's date form: UTC, milliseconds, Z.
func auth0Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// stamp returns an updated_at strictly after the record's last one, even
// when the clock has not moved a millisecond.
func (rec *userRecord) stamp(now time.Time) string {
	t := now.UTC().Truncate(time.Millisecond)
	if !t.After(rec.updatedAt) {
		t = rec.updatedAt.Add(time.Millisecond)
	}
	rec.updatedAt = t
	rec.doc["updated_at"] = auth0Time(t)
	return auth0Time(t)
}

func hashPassword(password string) (salt, hash []byte) {
	salt = make([]byte, 16)
	_, _ = rand.Read(salt)
	h := sha256.Sum256(append(slices.Clone(salt), password...))
	return salt, h[:]
}

func (rec *userRecord) passwordMatches(password string) bool {
	if rec.hash == nil {
		return false
	}
	h := sha256.Sum256(append(slices.Clone(rec.salt), password...))
	return subtle.ConstantTimeCompare(h[:], rec.hash) == 1
}

func emailKey(connection, email string) string {
	return connection + "\x00" + strings.ToLower(email)
}

// createInput is a validated creation request from either entry point.
type createInput struct {
	id, connection, provider  string
	database, social          bool
	email, password, username string
	root                      map[string]any // given_name, family_name, name, nickname, picture, phone_number, booleans, Attributes
	userMetadata, appMeta     map[string]any
	linked                    []any // secondary identities, as stored
	loginsCount               int64
	createdAt, lastLogin      time.Time
}

// CreateUser stores u under the same rules as POST /api/v2/users (plus
// social users and a login history, which only seeding can set) and returns
// the user as GET would. Errors are *APIError.
func (s *Server) CreateUser(u NewUser) (map[string]any, error) {
	in, apiErr := createInputFromNewUser(u)
	if apiErr != nil {
		return nil, apiErr
	}
	doc, apiErr := s.insert(in)
	if apiErr != nil {
		return nil, apiErr
	}
	return doc, nil
}

func createInputFromNewUser(u NewUser) (createInput, *APIError) {
	if u.Connection == "" {
		return createInput{}, invalidBody("'Missing required property: connection'")
	}
	provider := u.Provider
	if provider == "" {
		provider = "auth0"
		if u.IsSocial {
			provider = u.Connection
		}
	}
	in := createInput{
		connection:  u.Connection,
		provider:    provider,
		social:      u.IsSocial,
		database:    provider == "auth0" && !u.IsSocial,
		email:       u.Email,
		password:    u.Password,
		root:        map[string]any{},
		loginsCount: u.LoginsCount,
		createdAt:   u.CreatedAt,
		lastLogin:   u.LastLogin,
	}
	if u.ID != "" {
		in.id = u.ID
		if !strings.Contains(u.ID, "|") {
			in.id = provider + "|" + u.ID
		}
	}
	for k, v := range map[string]string{
		"given_name": u.GivenName, "family_name": u.FamilyName, "name": u.Name,
		"nickname": u.Nickname, "picture": u.Picture, "phone_number": u.PhoneNumber,
	} {
		if v != "" {
			in.root[k] = v
		}
	}
	in.root["email_verified"] = u.EmailVerified
	attrs, err := normalizeObject(u.Attributes)
	if err != nil {
		return createInput{}, invalidBody("'attributes is not a JSON object: %v'", err)
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if slices.Contains(managedAttributes, k) {
			return createInput{}, invalidBody("'attributes may not set %s: the emulator manages it' on property attributes", k)
		}
		in.root[k] = attrs[k]
	}
	for i, l := range u.LinkedIdentities {
		if l.Connection == "" || l.UserID == "" {
			return createInput{}, invalidBody("'linked_identities[%d] needs connection and user_id'", i)
		}
		provider := cmpOr(l.Provider, l.Connection)
		identity := map[string]any{
			"connection": l.Connection, "provider": provider,
			"user_id": identityUserID(provider, l.UserID), "isSocial": l.IsSocial,
		}
		profile, err := normalizeObject(l.ProfileData)
		if err != nil {
			return createInput{}, invalidBody("'linked_identities[%d].profileData is not a JSON object: %v'", i, err)
		}
		if len(profile) > 0 {
			identity["profileData"] = profile
		}
		in.linked = append(in.linked, identity)
	}
	for _, m := range []struct {
		name string
		src  map[string]any
		dst  *map[string]any
	}{
		{"user_metadata", u.UserMetadata, &in.userMetadata},
		{"app_metadata", u.AppMetadata, &in.appMeta},
	} {
		if *m.dst, err = normalizeObject(m.src); err != nil {
			return createInput{}, invalidBody("'%s is not a JSON object: %v'", m.name, err)
		}
		if apiErr := checkMetadataKeys(m.name, *m.dst); apiErr != nil {
			return createInput{}, apiErr
		}
	}
	if apiErr := in.validate(); apiErr != nil {
		return createInput{}, apiErr
	}
	return in, nil
}

// normalizeObject turns any Go map into plain JSON values (map[string]any,
// []any, string, float64, bool, nil), so stored users hold nothing else.
func normalizeObject(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (in *createInput) validate() *APIError {
	if in.database {
		if in.email == "" {
			return invalidBody("'Missing required property: email'")
		}
		if in.password == "" {
			return invalidBody("'Missing required property: password'")
		}
	}
	if in.email != "" {
		if apiErr := checkEmail(in.email); apiErr != nil {
			return apiErr
		}
	}
	return nil
}

func checkEmail(email string) *APIError {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email {
		return invalidBody("'Object didn't pass validation for format email: %s' on property email", email)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) insert(in createInput) (map[string]any, *APIError) {
	now := s.now()
	created := in.createdAt
	if created.IsZero() {
		created = now
	}
	id := in.id
	if id == "" {
		id = in.provider + "|" + randomHex(24)
	}
	_, primaryID, _ := strings.Cut(id, "|")
	email := in.email
	if in.database {
		email = strings.ToLower(email)
	}

	doc := maps.Clone(in.root)
	doc["user_id"] = id
	doc["created_at"] = auth0Time(created)
	// The primary identity never has profileData: its profile is the
	// user's root.
	identity := map[string]any{
		"connection": in.connection,
		"user_id":    identityUserID(in.provider, primaryID),
		"provider":   in.provider,
		"isSocial":   in.social,
	}
	doc["identities"] = append([]any{identity}, in.linked...)
	if email != "" {
		doc["email"] = email
	}
	if in.username != "" {
		doc["username"] = in.username
	}
	if _, ok := doc["email_verified"]; !ok {
		doc["email_verified"] = false
	}
	nickname, _ := doc["nickname"].(string)
	if nickname == "" {
		nickname, _, _ = strings.Cut(email, "@")
		if nickname == "" {
			nickname = primaryID
		}
		doc["nickname"] = nickname
	}
	if _, ok := doc["name"]; !ok {
		doc["name"] = cmpOr(email, nickname)
	}
	if _, ok := doc["picture"]; !ok {
		doc["picture"] = gravatar(email, nickname)
	}
	if len(in.userMetadata) > 0 {
		doc["user_metadata"] = in.userMetadata
	}
	if len(in.appMeta) > 0 {
		doc["app_metadata"] = in.appMeta
	}
	updated := created
	if in.loginsCount > 0 {
		last := in.lastLogin
		if last.IsZero() {
			last = created
		}
		doc["logins_count"] = float64(in.loginsCount)
		doc["last_login"] = auth0Time(last)
		if last.After(updated) {
			updated = last
		}
	}
	rec := &userRecord{doc: doc, connection: in.connection, database: in.database}
	rec.updatedAt = updated.UTC().Truncate(time.Millisecond)
	doc["updated_at"] = auth0Time(rec.updatedAt)
	if in.password != "" {
		rec.salt, rec.hash = hashPassword(in.password)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.users[id]; taken {
		return nil, apiError(http.StatusConflict, "The user already exists.", "auth0_idp_error")
	}
	if email != "" {
		key := emailKey(in.connection, email)
		if _, taken := s.emails[key]; taken {
			return nil, apiError(http.StatusConflict, "The user already exists.", "auth0_idp_error")
		}
		s.emails[key] = id
	}
	s.users[id] = rec
	return deepCopyObject(doc), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// gravatar builds the default picture URL Auth0 gives database users.
func gravatar(email, nickname string) string {
	initials := strings.ToLower(nickname)
	var letters []rune
	for _, r := range initials {
		if r >= 'a' && r <= 'z' {
			letters = append(letters, r)
		}
		if len(letters) == 2 {
			break
		}
	}
	if len(letters) < 2 {
		letters = []rune("un")
	}
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "https://s.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) +
		"?s=480&r=pg&d=" + url.QueryEscape("https://cdn.auth0.com/avatars/"+string(letters)+".png")
}

// User returns a deep copy of the stored user JSON object. Numbers are
// float64, dates strings in Auth0's form, as encoding/json decodes them.
func (s *Server) User(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.users[id]
	if !ok {
		return nil, false
	}
	return deepCopyObject(rec.doc), true
}

func deepCopyObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopyObject(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopyValue(e)
		}
		return out
	default:
		return v
	}
}

// login checks a password grant's credentials and counts the login.
func (s *Server) login(username, password, realm string) (map[string]any, *response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *userRecord
	for _, rec := range s.users {
		if realm != "" && rec.connection != realm {
			continue
		}
		email, _ := rec.doc["email"].(string)
		name, _ := rec.doc["username"].(string)
		if !strings.EqualFold(email, username) && (name == "" || name != username) {
			continue
		}
		// Without a realm prefer the database connection, as a tenant's
		// default directory would.
		if found == nil || (rec.connection == DatabaseConnection && found.connection != DatabaseConnection) {
			found = rec
		}
	}
	if found == nil || !found.passwordMatches(password) {
		r := oauthError(http.StatusForbidden, "invalid_grant", "Wrong email or password.")
		return nil, &r
	}
	if blocked, _ := found.doc["blocked"].(bool); blocked {
		r := oauthError(http.StatusUnauthorized, "unauthorized", "user is blocked")
		return nil, &r
	}
	found.recordLogin(s.now())
	return deepCopyObject(found.doc), nil
}

// recordLogin counts one login as Auth0 does: logins_count up, last_login
// and updated_at now.
func (rec *userRecord) recordLogin(now time.Time) {
	count, _ := rec.doc["logins_count"].(float64)
	rec.doc["logins_count"] = count + 1
	rec.stamp(now)
	rec.doc["last_login"] = rec.doc["updated_at"]
}

// countLogin records a login of the user id (a Universal Login sign-up,
// which Auth0 counts as the first login).
func (s *Server) countLogin(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.users[id]; ok {
		rec.recordLogin(s.now())
	}
}
