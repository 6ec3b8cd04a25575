// Package apimodel holds the Go types gqlgen binds GraphQL object types to
// where the domain's own type needs the API's conversions. Their fields
// are context-free methods, so gqlgen resolves them inline, without a
// resolver call and a goroutine per field as it does for a resolver. The
// package decides nothing about a profile: it only reads one.
package apimodel

import (
	"time"

	"github.com/progressive-profiling/bff/profiling"
)

// Viewer is the GraphQL Viewer: the domain's profile, plus the schema's
// typed catalogue fields (a value by catalogue key) and its times in UTC.
// Treat what the methods return as read-only.
type Viewer struct {
	*profiling.Profile
}

// NewViewer wraps p; nil stays nil (a payload without a viewer).
func NewViewer(p *profiling.Profile) *Viewer {
	if p == nil {
		return nil
	}
	return &Viewer{Profile: p}
}

// IDRef points at the user's id and CompletionRef at the profile's
// completion, which gqlgen boxes for free (see profiling.Field.KeyRef).
func (v *Viewer) IDRef() *string { return &v.User.ID }

// CompletionRef points at the share of catalogue fields known.
func (v *Viewer) CompletionRef() *float64 { return &v.Completion }

// FirstName is the known value of the catalogue field firstName, or nil.
func (v *Viewer) FirstName() *string { return v.text("firstName") }

// LastName is the known value of the catalogue field lastName, or nil.
func (v *Viewer) LastName() *string { return v.text("lastName") }

// Company is the known value of the catalogue field company, or nil.
func (v *Viewer) Company() *string { return v.text("company") }

// Title is the known value of the catalogue field title, or nil.
func (v *Viewer) Title() *string { return v.text("title") }

// Phone is the known value of the catalogue field phone, or nil.
func (v *Viewer) Phone() *string { return v.text("phone") }

// Subscribed is the known value of the catalogue field subscribed, or nil.
func (v *Viewer) Subscribed() *bool {
	if val, ok := v.Value("subscribed"); ok && val.Known {
		if b, ok := val.Value.(bool); ok {
			return &b
		}
	}
	return nil
}

// CreatedAt is when the account was created, in UTC; nil when unknown.
func (v *Viewer) CreatedAt() *time.Time { return OptionalUTC(v.User.CreatedAt) }

// LastLogin is when the user last logged in, in UTC; nil when unknown.
func (v *Viewer) LastLogin() *time.Time { return OptionalUTC(v.User.LastLogin) }

// text is a known text value by catalogue key, nil when unknown, not text,
// or not in the rules' catalogue.
func (v *Viewer) text(key string) *string {
	if val, ok := v.Value(key); ok && val.Known {
		if s, ok := val.Value.(string); ok {
			return &s
		}
	}
	return nil
}

// OptionalUTC is t in UTC, or nil for the zero time (unknown): the API's
// DateTime values are always UTC.
func OptionalUTC(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
