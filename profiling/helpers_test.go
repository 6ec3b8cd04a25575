package profiling

import (
	"encoding/json"
	"testing"
)

// applyPatch does to a copy of u what Auth0's PATCH does: top-level merge of
// each metadata object, null deleting a key. The copy goes through JSON, as
// a user does on its way through Auth0 and the cache.
func applyPatch(t testing.TB, u *User, p Patch) *User {
	t.Helper()
	c := jsonCopy(t, u)
	merge := func(dst map[string]any, src map[string]any) map[string]any {
		if dst == nil {
			dst = map[string]any{}
		}
		for k, v := range src {
			if v == nil {
				delete(dst, k)
			} else {
				dst[k] = v
			}
		}
		return dst
	}
	c.UserMetadata = merge(c.UserMetadata, p.UserMetadata)
	c.AppMetadata = merge(c.AppMetadata, p.AppMetadata)
	return jsonCopy(t, c)
}

func jsonCopy(t testing.TB, u *User) *User {
	t.Helper()
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	var c User
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// checkPatchAllowed fails unless p writes only catalogue store keys to
// user_metadata and only BookkeepingKey to app_metadata: nothing else may
// ever be written on a user's behalf.
func checkPatchAllowed(t testing.TB, r *Rules, p Patch) {
	t.Helper()
	stores := map[string]bool{}
	for _, f := range r.Fields() {
		stores[f.Store] = true
	}
	for k, v := range p.UserMetadata {
		if !stores[k] {
			t.Errorf("patch writes user_metadata.%s, which is no catalogue store key", k)
		}
		switch v.(type) {
		case nil, string, bool:
		default:
			t.Errorf("patch writes user_metadata.%s = %T, want a string, bool or null", k, v)
		}
	}
	for k := range p.AppMetadata {
		if k != BookkeepingKey {
			t.Errorf("patch writes app_metadata.%s; only %s is allowed", k, BookkeepingKey)
		}
	}
}
