package auth0store

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/progressive-profiling/bff/internal/auth0emu"
)

// decodedRest is what restAttributes must equal: the whole object decoded
// into a map, less the attributes with a field of their own.
func decodedRest(b []byte) (map[string]any, error) {
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k := range all {
		if notRest[k] {
			delete(all, k)
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
}

// restSeeds are the seed users as the Management API answers them, and
// JSON that a walk over bytes could get wrong.
func restSeeds(tb testing.TB) [][]byte {
	emu := emulator(tb)
	if err := emu.SeedLoadUsers(1); err != nil {
		tb.Fatal(err)
	}
	var seeds [][]byte
	for _, u := range append(auth0emu.SeedUsers(), auth0emu.LoadUsersAt(emu.Config().Now(), 1)...) {
		doc, ok := emu.User(u.ID)
		if !ok {
			tb.Fatalf("no seeded user %s", u.ID)
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, raw)
	}
	for _, s := range []string{
		`null`, ` null `, `{}`, ` { } `,
		`{"user_id":"a","company":"Acme"}`,
		"{\n\t\"company\" :\r\n \"Acme\" , \"title\":\"Eng\"\n}",
		`{"company":"first","company":"last"}`,
		`{"comp\u0061ny":"escaped name","user_\u0069d":"escaped typed name"}`,
		`{"naïve":"non-ASCII name","日本":"x","\ud83c\udf89":"surrogates"}`,
		"{\"bad\xffname\":\"invalid UTF-8\",\"ok\":\"bad\xffvalue\"}",
		`{"s":"braces } ] { [ and \"quotes\" and \\ in a string","n":-1.5e+10,"t":true,"f":false,"z":null}`,
		`{"nested":{"a":[1,{"b":"}"},[[]]],"c":{}},"list":[{"}":"]"}],"after":"x"}`,
		`{"email_verified":"true","identities":[{"user_id":12345}],"user_metadata":{"k":"v"},"last_ip":"1.2.3.4","department":"D"}`,
		`{"trailing_escape":"\\","x":"y"}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// The walk over the answer finds the same root attributes as decoding all
// of it, for every seed user and the awkward cases.
func TestRestAttributesAreWhatDecodingGives(t *testing.T) {
	t.Parallel()
	for _, b := range restSeeds(t) {
		got, err := restAttributes(b)
		if err != nil {
			t.Errorf("%s: %v", b, err)
			continue
		}
		want, err := decodedRest(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", b, got, want)
		}
	}
}

func FuzzRestAttributes(f *testing.F) {
	for _, b := range restSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, err := decodedRest(b)
		if err != nil {
			return // restAttributes is only given what decoded
		}
		got, err := restAttributes(b)
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
		}
	})
}
