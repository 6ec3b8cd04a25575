package profiling

import (
	"testing"
	"time"
)

func TestReadForToken(t *testing.T) {
	iat := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	end := iat.Add(time.Second) // the end of the iat second
	later := iat.Add(time.Hour)
	cases := []struct {
		name string
		tok  Token
		now  time.Time
		want Read
	}{
		{"no token facts", Token{}, later, Read{AllowStale: true}},
		{"after its second: a copy read after the second ended", Token{IssuedAt: iat, FirstSeen: later}, later, Read{After: end, AllowStale: true}},
		{"within its second, no jti: a copy read after this request arrived", Token{IssuedAt: iat, FirstSeen: iat}, iat.Add(600 * time.Millisecond),
			Read{After: iat.Add(600 * time.Millisecond), AllowStale: true}},
		{"no jti, first seen in its second, used later: after the second", Token{IssuedAt: iat, FirstSeen: iat.Add(300 * time.Millisecond)}, later,
			Read{After: end, AllowStale: true}},
		{"unique token first seen in its second: after it was first seen", Token{IssuedAt: iat, FirstSeen: iat.Add(300 * time.Millisecond), Unique: true}, iat.Add(600 * time.Millisecond),
			Read{After: iat.Add(300 * time.Millisecond), AllowStale: true}},
		{"unique token, used later: still after it was first seen", Token{IssuedAt: iat, FirstSeen: iat.Add(300 * time.Millisecond), Unique: true}, later,
			Read{After: iat.Add(300 * time.Millisecond), AllowStale: true}},
		{"unique token first seen long after its second", Token{IssuedAt: iat, FirstSeen: later, Unique: true}, later, Read{After: end, AllowStale: true}},
		{"the token carries the login count", Token{IssuedAt: iat, FirstSeen: iat, LoginsCount: 7}, iat, Read{MinLogins: 7, AllowStale: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ReadForToken(c.tok, c.now); got != c.want {
				t.Errorf("ReadForToken(%+v, %v) = %+v, want %+v", c.tok, c.now, got, c.want)
			}
		})
	}
}

// A copy read within the token's iat second cannot be known to show the
// login (a second one may follow in that second); only a read after the
// second ends, or after a unique token was first seen, can.
func TestReadSatisfies(t *testing.T) {
	iat := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	afterSecond := iat.Add(2 * time.Second)
	sameSecond := iat.Add(900 * time.Millisecond)
	cases := []struct {
		name    string
		r       Read
		u       *User
		fetched time.Time
		want    bool
	}{
		{"zero read accepts any copy", Read{}, &User{}, iat.Add(-time.Hour), true},
		{"read in the iat second, even showing a login in it", ReadForToken(Token{IssuedAt: iat}, afterSecond), &User{LastLogin: iat.Add(100 * time.Millisecond)}, sameSecond, false},
		{"read after the iat second", ReadForToken(Token{IssuedAt: iat}, afterSecond), &User{}, iat.Add(time.Second), true},
		{"read after a unique token was first seen", ReadForToken(Token{IssuedAt: iat, FirstSeen: iat.Add(200 * time.Millisecond), Unique: true}, sameSecond), &User{}, iat.Add(250 * time.Millisecond), true},
		{"read before a unique token was first seen", ReadForToken(Token{IssuedAt: iat, FirstSeen: iat.Add(200 * time.Millisecond), Unique: true}, sameSecond), &User{}, iat.Add(150 * time.Millisecond), false},
		{"shows the token's login count", ReadForToken(Token{LoginsCount: 3}, iat), &User{LoginsCount: 3}, iat.Add(-time.Hour), true},
		{"shows fewer logins than the token", ReadForToken(Token{LoginsCount: 3}, iat), &User{LoginsCount: 2}, iat.Add(time.Hour), false},
		{"a missing user never shows logins", ReadForToken(Token{LoginsCount: 1}, iat), nil, iat, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.Satisfies(c.u, c.fetched); got != c.want {
				t.Errorf("%+v.Satisfies(%+v, %v) = %v, want %v", c.r, c.u, c.fetched, got, c.want)
			}
		})
	}
}
