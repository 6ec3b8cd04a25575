package cache

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/auth0store"
	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/profiling"
)

// readBack must give exactly what decoding the entry's bytes gives, for
// every user the emulator seeds (read through the real auth0store, as the
// cache's upstream reads them) and for the shapes a store might hand over
// that JSON does not carry as they are. A hit answered from this
// instance's kept copy and one decoded from Redis must be the same user.
func TestReadBackIsWhatDecodingGives(t *testing.T) {
	t.Parallel()
	type tc struct {
		name string
		u    *profiling.User
		fast bool // readBackUser builds it; otherwise readBack decodes
	}
	var cases []tc

	emu, err := auth0emu.Listen("127.0.0.1:0", auth0emu.Config{RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	if err := emu.Seed(); err != nil {
		t.Fatal(err)
	}
	if err := emu.SeedLoadUsers(1); err != nil { // what -seed-users and the cold load read
		t.Fatal(err)
	}
	store, err := auth0store.New(context.Background(), auth0store.Config{
		Domain: emu.URL(), ClientID: emu.Config().ClientID, ClientSecret: emu.Config().ClientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{auth0emu.LoadUserID(1)}
	for _, s := range auth0emu.SeedUsers() {
		ids = append(ids, s.ID)
	}
	for _, id := range ids {
		u, _, err := store.User(context.Background(), id, profiling.Read{})
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, tc{"seed " + id, u, true})
	}

	at := time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.UTC) // sub-millisecond
	base := func(id string) *profiling.User {
		return &profiling.User{ID: id, Email: id + "@example.com", CreatedAt: at, UpdatedAt: at.Add(time.Microsecond), LastLogin: at.Add(time.Nanosecond)}
	}
	with := func(id string, f func(*profiling.User)) *profiling.User {
		u := base(id)
		f(u)
		return u
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	cases = append(cases,
		tc{"bare", &profiling.User{ID: "auth0|bare"}, true},
		tc{"empty maps and identities", with("auth0|empty", func(u *profiling.User) {
			u.RootAttributes, u.UserMetadata, u.AppMetadata = map[string]any{}, map[string]any{}, map[string]any{}
			u.Identities = []profiling.Identity{}
		}), true},
		tc{"identity without profile data", with("auth0|ident", func(u *profiling.User) {
			u.Identities = []profiling.Identity{{Provider: "auth0", UserID: "ident", ProfileData: map[string]any{}}, {}}
		}), true},
		tc{"nested empties and nulls", with("auth0|nested", func(u *profiling.User) {
			u.UserMetadata = map[string]any{
				"empty_map": map[string]any{}, "nil_map": map[string]any(nil), "empty_list": []any{}, "nil_list": []any(nil),
				"null": nil, "list": []any{nil, 1.5, "x", true, map[string]any{"k": []any{}}},
			}
		}), true},
		tc{"numbers", with("auth0|numbers", func(u *profiling.User) {
			u.AppMetadata = map[string]any{"zero": 0.0, "neg_zero": math.Copysign(0, -1), "tiny": 5e-324, "huge": math.MaxFloat64,
				"third": 1.0 / 3, "big_int": float64(1 << 53), "e21": 1e21, "small": 1e-7}
			u.LoginsCount = -1
		}), true},
		tc{"unicode", with("auth0|ünïcødé", func(u *profiling.User) {
			u.Name, u.GivenName, u.FamilyName = "Zoë O’Brien <&>", "日本語", "\u2028\u2029\u0000\ufffd"
			u.UserMetadata = map[string]any{"émoji 🎉": "🎉", "html": "<script>&amp;</script>", "ctl": "\t\n\x01"}
		}), true},
		tc{"times from the clock", with("auth0|clock", func(u *profiling.User) {
			now := time.Now() // monotonic reading, Local zone
			u.CreatedAt, u.UpdatedAt, u.LastLogin = now, now.UTC(), now.In(time.FixedZone("UTC0", 0))
		}), true},
		tc{"zero times in a zone", with("auth0|zerozone", func(u *profiling.User) {
			u.CreatedAt, u.UpdatedAt, u.LastLogin = time.Time{}.In(paris), time.Time{}, time.Time{}
		}), true},
		tc{"time with an offset", with("auth0|offset", func(u *profiling.User) { u.UpdatedAt = at.In(paris) }), false},
		tc{"int in metadata", with("auth0|int", func(u *profiling.User) { u.UserMetadata = map[string]any{"n": 3} }), false},
		tc{"typed slice in metadata", with("auth0|typed", func(u *profiling.User) {
			u.AppMetadata = map[string]any{"roles": []string{"admin"}}
		}), false},
		tc{"invalid UTF-8 in a string", with("auth0|badutf8", func(u *profiling.User) { u.Nickname = "a\xffb" }), false},
		tc{"invalid UTF-8 in a key", with("auth0|badkey", func(u *profiling.User) {
			u.Identities = []profiling.Identity{{ProfileData: map[string]any{"k\xff": "v"}}}
		}), false},
	)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fetched := time.Now()
			en := entry{Version: version(c.u), FetchedAt: fetched.UnixMilli(), FreshUntil: fetched.Add(time.Minute).UnixMilli(), User: toStored(c.u)}
			raw, err := json.Marshal(en)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readBack(raw, en, c.u.ID)
			if err != nil {
				t.Fatal(err)
			}
			want, err := decodeJSON(raw, c.u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("readBack differs from decoding its bytes:\n got %#v\nwant %#v", got.user, want.user)
			}
			if _, fast := readBackUser(en.User); fast != c.fast {
				t.Errorf("built without decoding: %v, want %v", fast, c.fast)
			}
			// Nothing is shared with the store's user: changing it leaves
			// the entry as decoded.
			scribble(c.u)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("the entry changed with the upstream store's user: %#v", got.user)
			}
		})
	}
}

// scribble changes every map and identity of u in place.
func scribble(u *profiling.User) {
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if t == nil {
				return
			}
			for k, x := range t {
				walk(x)
				t[k] = "scribbled"
			}
			t["scribbled"] = true
		case []any:
			for i, x := range t {
				walk(x)
				t[i] = "scribbled"
			}
		}
	}
	for _, m := range []map[string]any{u.RootAttributes, u.UserMetadata, u.AppMetadata} {
		if m != nil {
			walk(m)
		}
	}
	for i := range u.Identities {
		u.Identities[i].Provider = "scribbled"
		if u.Identities[i].ProfileData != nil {
			walk(u.Identities[i].ProfileData)
		}
	}
}

// readBackUser must carry every field: this fails when profiling.User (or
// Identity) grows one that toStored carries and readBackUser does not.
func TestReadBackCarriesEveryField(t *testing.T) {
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString("x")
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64, reflect.Int32:
			v.SetInt(1)
		case reflect.Float64:
			v.SetFloat(1.5)
		case reflect.Map:
			v.Set(reflect.ValueOf(map[string]any{"k": "v"}))
		case reflect.Slice:
			s := reflect.MakeSlice(v.Type(), 1, 1)
			fill(s.Index(0))
			v.Set(s)
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				v.Set(reflect.ValueOf(time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)))
				return
			}
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		}
	}
	u := &profiling.User{}
	fill(reflect.ValueOf(u).Elem())
	en := entry{Version: version(u), FetchedAt: 1, FreshUntil: 2, User: toStored(u)}
	raw, err := json.Marshal(en)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readBack(raw, en, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, fast := readBackUser(en.User); !fast {
		t.Fatal("a plain user was decoded, not built")
	}
	want, err := decodeJSON(raw, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("readBack differs from decoding:\n got %#v\nwant %#v", got.user, want.user)
	}
	if !reflect.DeepEqual(want.user, u) {
		t.Fatalf("the entry does not carry every field (toStored or user() misses one):\n got %#v\nwant %#v", want.user, u)
	}
}
