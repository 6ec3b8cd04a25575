package apimodel

import (
	"testing"
	"time"

	"github.com/progressive-profiling/bff/profiling"
)

func TestOptionalUTC(t *testing.T) {
	if OptionalUTC(time.Time{}) != nil {
		t.Error("the zero time is unknown: want nil")
	}
	at := time.Date(2026, 6, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	got := OptionalUTC(at)
	if got == nil || got.Location() != time.UTC || !got.Equal(at) {
		t.Errorf("OptionalUTC(%v) = %v, want the same instant in UTC", at, got)
	}
}

func TestViewerTypedFields(t *testing.T) {
	rules, err := profiling.ParseRules(profiling.DefaultRulesName, profiling.DefaultRules, profiling.InputSchema{
		"firstName": profiling.KindString, "lastName": profiling.KindString, "company": profiling.KindString,
		"title": profiling.KindString, "phone": profiling.KindString, "subscribed": profiling.KindBoolean,
	})
	if err != nil {
		t.Fatal(err)
	}
	u := &profiling.User{ID: "auth0|1", UserMetadata: map[string]any{"first_name": "Ada", "subscribed": false, "company": 42}}
	v := NewViewer(rules.Profile(u, time.Now()))
	if got := v.FirstName(); got == nil || *got != "Ada" {
		t.Errorf("FirstName = %v, want Ada", got)
	}
	if got := v.Subscribed(); got == nil || *got {
		t.Errorf("Subscribed = %v, want false (known)", got)
	}
	if got := v.Company(); got != nil {
		t.Errorf("Company = %q, want nil: a number is not a known text", *got)
	}
	if v.LastName() != nil || v.Title() != nil || v.Phone() != nil {
		t.Error("unknown fields must be nil")
	}
	if NewViewer(nil) != nil {
		t.Error("NewViewer(nil) must be nil: a payload without a viewer")
	}
}
