package cache

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/profiling"
)

// A decode answered from the kept copy is exactly what a JSON decode gives,
// and every answer is the caller's own: changing one changes no other.
func TestDecodeMemoGivesEveryCallerItsOwnCopy(t *testing.T) {
	u := &profiling.User{
		ID: "auth0|memo", Email: "m@example.com", LoginsCount: 3,
		CreatedAt:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Identities:     []profiling.Identity{{Provider: "auth0", ProfileData: map[string]any{"given_name": "Ada", "tags": []any{"a", map[string]any{"b": 1.0}}}}},
		RootAttributes: map[string]any{"company": "AE"},
		UserMetadata:   map[string]any{"first_name": "Ada"},
		AppMetadata:    map[string]any{"roles": []any{"admin"}, profiling.BookkeepingKey: map[string]any{"collected": map[string]any{"firstName": map[string]any{"at": "x"}}}},
	}
	raw, err := json.Marshal(entry{Version: 1, FetchedAt: 2, FreshUntil: 3, User: toStored(u)})
	if err != nil {
		t.Fatal(err)
	}
	want, err := decodeJSON(raw, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	local := newLocalCopies(8)
	if err := local.keep(u.ID, raw); err != nil {
		t.Fatal(err)
	}
	first, err := local.decode(raw, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Scribble over everything the first caller got.
	first.user.Email = "changed"
	first.user.Identities[0].ProfileData["given_name"] = "changed"
	first.user.Identities[0].ProfileData["tags"].([]any)[1].(map[string]any)["b"] = 2.0
	first.user.RootAttributes["company"] = "changed"
	first.user.UserMetadata["first_name"] = "changed"
	first.user.AppMetadata["roles"].([]any)[0] = "changed"
	first.user.AppMetadata[profiling.BookkeepingKey].(map[string]any)["collected"] = nil

	second, err := local.decode(append([]byte(nil), raw...), u.ID) // same bytes, another buffer: the kept copy answers
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(second.user, want.user) {
		t.Fatalf("memoised decode differs from a JSON decode:\n got %#v\nwant %#v", second.user, want.user)
	}
	if second.fetched != want.fetched || second.freshUntil != want.freshUntil {
		t.Fatalf("times differ: %v %v, want %v %v", second.fetched, second.freshUntil, want.fetched, want.freshUntil)
	}
	if kept := local.get(u.ID); !reflect.DeepEqual(kept.user, want.user) {
		t.Fatalf("the kept copy changed with a caller's: %#v", kept.user)
	}
	if _, err := local.decode([]byte(`{"updated_ms":1,"user":{"user_id":"auth0|other"}}`), u.ID); err == nil {
		t.Fatal("an entry holding another user decoded")
	}
}

// cloneUser must copy every field that can share memory; this fails when
// profiling.User grows one it does not know.
func TestCloneUserCopiesEveryField(t *testing.T) {
	copied := map[string]bool{"Identities": true, "RootAttributes": true, "UserMetadata": true, "AppMetadata": true}
	check := func(typ reflect.Type, known map[string]bool) {
		for f := range typ.Fields() {
			switch f.Type.Kind() {
			case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface, reflect.Array:
				if !known[f.Name] {
					t.Errorf("%s.%s (%s) may share memory between callers: copy it in cloneUser", typ.Name(), f.Name, f.Type)
				}
			}
		}
	}
	check(reflect.TypeFor[profiling.User](), copied)
	check(reflect.TypeFor[profiling.Identity](), map[string]bool{"ProfileData": true})
}
