package profiling

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// memStore is an in-memory UserStore that applies patches as Auth0 does and
// records every call.
type memStore struct {
	t       testing.TB
	mu      sync.Mutex
	users   map[string]*User
	calls   []string
	reads   []Read // what each User call asked for
	patches []Patch
	getErr  error // returned by User when set
	putErr  error // returned by UpdateUser when set

	// readPause widens the window between a read and the write that
	// follows it, so unserialised writers would overlap.
	readPause time.Duration
}

func newMemStore(t testing.TB, users ...*User) *memStore {
	s := &memStore{t: t, users: map[string]*User{}}
	for _, u := range users {
		s.users[u.ID] = jsonCopy(t, u)
	}
	return s
}

func (s *memStore) User(_ context.Context, id string, r Read) (*User, ReadInfo, error) {
	defer time.Sleep(s.readPause)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "get")
	s.reads = append(s.reads, r)
	if s.getErr != nil {
		return nil, ReadInfo{}, s.getErr
	}
	u, ok := s.users[id]
	if !ok {
		return nil, ReadInfo{}, fmt.Errorf("memStore: user %q: %w", id, ErrUserNotFound)
	}
	return jsonCopy(s.t, u), ReadInfo{}, nil
}

func (s *memStore) UpdateUser(_ context.Context, id string, p Patch) (*User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "update")
	if s.putErr != nil {
		return nil, s.putErr
	}
	u, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("memStore: user %q: %w", id, ErrUserNotFound)
	}
	s.patches = append(s.patches, p)
	s.users[id] = applyPatch(s.t, u, p)
	return jsonCopy(s.t, s.users[id]), nil
}

func (s *memStore) stored(id string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return jsonCopy(s.t, s.users[id])
}

func (s *memStore) callLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// memLocks is a per-user Locker, as a Redis lock would be, that records
// its calls in the store's log.
type memLocks struct {
	*memStore
	locks   sync.Map // id -> *sync.Mutex
	lockErr error
}

func (s *memLocks) LockUser(ctx context.Context, id string) (func(), error) {
	if s.lockErr != nil {
		return nil, s.lockErr
	}
	m, _ := s.locks.LoadOrStore(id, &sync.Mutex{})
	m.(*sync.Mutex).Lock()
	s.mu.Lock()
	s.calls = append(s.calls, "lock")
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.calls = append(s.calls, "unlock")
		s.mu.Unlock()
		m.(*sync.Mutex).Unlock()
	}, nil
}

func fixedClock() time.Time { return testNow }

var ctx = context.Background()

func TestServiceAnswerWritesAndReturnsTheNewProfile(t *testing.T) {
	store := newMemStore(t, newUser(2, time.Hour, named))
	rules := mustDefaultRules(t)
	svc := NewService(rules, store, NoLocks{}, fixedClock)

	out, err := svc.Answer(ctx, "auth0|ada", Read{}, map[string]any{"company": " AE Ltd ", "title": "Engineer"}, "settings")
	if err != nil || out.Problems != nil {
		t.Fatalf("Answer: %+v %v", out, err)
	}
	if got := store.callLog(); !slices.Equal(got, []string{"get", "update"}) {
		t.Errorf("store calls = %v, want one read and one write", got)
	}
	if v, _ := out.Profile.Value("company"); v.Value != "AE Ltd" || v.Source != SourceUser || !v.CollectedAt.Equal(testNow) {
		t.Errorf("returned company = %+v", v)
	}
	if len(out.Pending) != 0 {
		t.Errorf("pending after answering = %v", pendingKeys(t, out.Pending))
	}
	stored := store.stored("auth0|ada")
	if stored.UserMetadata["company"] != "AE Ltd" || stored.UserMetadata["title"] != "Engineer" || stored.UserMetadata["first_name"] != "Ada" {
		t.Errorf("stored user_metadata = %v", stored.UserMetadata)
	}
	for _, patch := range store.patches {
		checkPatchAllowed(t, rules, patch)
	}
}

func TestServiceWritesNothingWhenThereAreProblems(t *testing.T) {
	store := newMemStore(t, newUser(2, time.Hour, named))
	svc := NewService(mustDefaultRules(t), store, NoLocks{}, fixedClock)

	out, err := svc.Answer(ctx, "auth0|ada", Read{},
		map[string]any{"company": "AE Ltd", "phone": "not a phone", "email": "evil@example.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []FieldError{
		{"phone", CodeInvalidPhone, "Phone must be a valid phone number with its country code, e.g. +44 20 7946 0958", 0},
		{"email", CodeUnknownField, `"email" is not a profile field`, 0},
	}
	if !slices.Equal(out.Problems, want) {
		t.Errorf("problems = %+v, want %+v", out.Problems, want)
	}
	if got := store.callLog(); !slices.Equal(got, []string{"get"}) {
		t.Errorf("store calls = %v, want only the read", got)
	}
	if v, _ := out.Profile.Value("company"); v.Known {
		t.Errorf("returned profile shows the refused company: %+v", v)
	}
	if !slices.Equal(pendingKeys(t, out.Pending), []string{"returning:company", "returning:title"}) {
		t.Errorf("current user's pending = %v", pendingKeys(t, out.Pending))
	}

	out, err = svc.Skip(ctx, "auth0|ada", Read{}, []string{"company", "fax"}, "")
	if err != nil || len(out.Problems) != 1 || out.Problems[0].Code != CodeUnknownField {
		t.Errorf("Skip with an unknown key = %+v, %v", out, err)
	}
	if got := store.callLog(); slices.Contains(got, "update") {
		t.Errorf("store calls = %v, want no write", got)
	}
}

// The next fields are computed in the request's context, unless that
// context was itself refused: then in none.
func TestServiceOutcomePendingFollowsTheValidatedContext(t *testing.T) {
	store := newMemStore(t, newUser(2, time.Hour, named, withUserMetadata("company", "AE"), withUserMetadata("title", "engineer")))
	svc := NewService(mustDefaultRules(t), store, NoLocks{}, fixedClock)
	out, err := svc.Skip(ctx, "auth0|ada", Read{}, nil, "article")
	if err != nil || !slices.Equal(pendingKeys(t, out.Pending), []string{"newsletter:subscribed"}) {
		t.Fatalf("pending in context article = %v, %v", pendingKeys(t, out.Pending), err)
	}
	out, err = svc.Skip(ctx, "auth0|ada", Read{}, nil, "article\x00")
	if err != nil || len(out.Problems) != 1 || out.Problems[0].Key != "context" || len(out.Pending) != 0 {
		t.Fatalf("refused context: problems %+v pending %v, %v", out.Problems, pendingKeys(t, out.Pending), err)
	}
}

func TestServiceUnchangedAnswerSkipsTheWrite(t *testing.T) {
	u := newUser(2, time.Hour, named, withUserMetadata("company", "AE"),
		withAppMetadata(BookkeepingKey, map[string]any{"collected": map[string]any{"company": entry(testNow.Add(-time.Hour), "stage", "returning")}}))
	store := newMemStore(t, u)
	svc := NewService(mustDefaultRules(t), store, NoLocks{}, fixedClock)
	out, err := svc.Answer(ctx, u.ID, Read{}, map[string]any{"company": "AE"}, "")
	if err != nil || out.Problems != nil {
		t.Fatal(out, err)
	}
	if got := store.callLog(); !slices.Equal(got, []string{"get"}) {
		t.Errorf("store calls = %v, want no write for an unchanged answer", got)
	}
	if v, _ := out.Profile.Value("company"); v.Value != "AE" {
		t.Errorf("company = %+v", v)
	}
}

// Writes that change nothing cost no Management API call: a repeated "not
// now", or "not now" on a field that is already known.
func TestServiceSkipThatChangesNothingIsNotWritten(t *testing.T) {
	store := newMemStore(t, newUser(2, time.Hour, named, withUserMetadata("company", "AE")))
	svc := NewService(mustDefaultRules(t), store, NoLocks{}, fixedClock)
	for range 10 {
		if _, err := svc.Skip(ctx, "auth0|ada", Read{}, []string{"title"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Skip(ctx, "auth0|ada", Read{}, []string{"company", "firstName"}, ""); err != nil {
		t.Fatal(err)
	}
	if n := len(store.patches); n != 1 {
		t.Fatalf("ten identical skips and a skip of known fields made %d writes, want 1: %+v", n, store.patches)
	}
	_, skipped := readBookkeeping(store.stored("auth0|ada").AppMetadata)
	if _, ok := skipped["company"]; ok || len(skipped) != 1 {
		t.Errorf("skip records = %v, want only title", skipped)
	}
}

func TestServiceSkip(t *testing.T) {
	store := newMemStore(t, newUser(2, time.Hour, named))
	rules := mustDefaultRules(t)
	svc := NewService(rules, store, NoLocks{}, fixedClock)
	out, err := svc.Skip(ctx, "auth0|ada", Read{}, []string{"company"}, "")
	if err != nil || out.Problems != nil {
		t.Fatal(out, err)
	}
	if !slices.Equal(pendingKeys(t, out.Pending), []string{"returning:title"}) {
		t.Errorf("pending after skipping company = %v", pendingKeys(t, out.Pending))
	}
	if len(store.patches) != 1 || store.patches[0].UserMetadata != nil {
		t.Fatalf("patches = %+v, want one bookkeeping-only patch", store.patches)
	}
	checkPatchAllowed(t, rules, store.patches[0])

	// The cool-down runs on the service's clock.
	later := NewService(rules, store, NoLocks{}, func() time.Time { return testNow.Add(73 * time.Hour) })
	p, _, err := later.Profile(ctx, "auth0|ada", Read{})
	if err != nil {
		t.Fatal(err)
	}
	if pending, _ := p.Pending("", nil); !slices.Equal(pendingKeys(t, pending), []string{"returning:company", "returning:title"}) {
		t.Errorf("pending after the cool-down = %v", pendingKeys(t, pending))
	}
}

func TestServiceStoreErrorsPassThrough(t *testing.T) {
	rules := mustDefaultRules(t)
	outage := fmt.Errorf("auth0: 503: %w", ErrUpstreamUnavailable)
	answers := map[string]any{"company": "AE"}

	type op func(*Service, string) (*Profile, error)
	ops := map[string]op{
		"Profile": func(s *Service, id string) (*Profile, error) {
			p, _, err := s.Profile(ctx, id, Read{})
			return p, err
		},
		"Answer": func(s *Service, id string) (*Profile, error) {
			out, err := s.Answer(ctx, id, Read{}, answers, "")
			if out != nil {
				return out.Profile, err
			}
			return nil, err
		},
		"Skip": func(s *Service, id string) (*Profile, error) {
			out, err := s.Skip(ctx, id, Read{}, []string{"company"}, "")
			if out != nil {
				return out.Profile, err
			}
			return nil, err
		},
	}
	for name, call := range ops {
		t.Run(name+"/not found", func(t *testing.T) {
			p, err := call(NewService(rules, newMemStore(t), NoLocks{}, fixedClock), "auth0|nobody")
			if !errors.Is(err, ErrUserNotFound) || p != nil {
				t.Errorf("got %v, %v; want ErrUserNotFound and no profile", p, err)
			}
		})
		t.Run(name+"/read unavailable", func(t *testing.T) {
			store := newMemStore(t, newUser(2, time.Hour))
			store.getErr = outage
			p, err := call(NewService(rules, store, NoLocks{}, fixedClock), "auth0|ada")
			if !errors.Is(err, ErrUpstreamUnavailable) || p != nil {
				t.Errorf("got %v, %v; want ErrUpstreamUnavailable and no profile", p, err)
			}
		})
	}
	for _, name := range []string{"Answer", "Skip"} {
		t.Run(name+"/write unavailable", func(t *testing.T) {
			store := newMemStore(t, newUser(2, time.Hour))
			store.putErr = outage
			p, err := ops[name](NewService(rules, store, NoLocks{}, fixedClock), "auth0|ada")
			if !errors.Is(err, ErrUpstreamUnavailable) || p != nil {
				t.Errorf("got %v, %v; want ErrUpstreamUnavailable and no profile", p, err)
			}
		})
	}
}

// nilStore returns neither a user nor an error; the service must not panic.
type nilStore struct{}

func (nilStore) User(context.Context, string, Read) (*User, ReadInfo, error) {
	return nil, ReadInfo{}, nil
}
func (nilStore) UpdateUser(context.Context, string, Patch) (*User, error) { return nil, nil }

func TestServiceRefusesAStoreThatReturnsNoUser(t *testing.T) {
	svc := NewService(mustDefaultRules(t), nilStore{}, NoLocks{}, fixedClock)
	if _, _, err := svc.Profile(ctx, "x", Read{}); !errors.Is(err, errNoUser) {
		t.Errorf("Profile: %v", err)
	}
	if _, err := svc.Answer(ctx, "x", Read{}, map[string]any{"company": "AE"}, ""); !errors.Is(err, errNoUser) {
		t.Errorf("Answer: %v", err)
	}
}

// Reads pass the caller's requirements through; the write path asks for a
// read of its own, never a stale copy, so a change is never computed from a
// copy older than the last write.
func TestServiceWritePathReadsExclusivelyAndNeverStale(t *testing.T) {
	store := newMemStore(t, newUser(2, time.Hour, named))
	svc := NewService(mustDefaultRules(t), store, NoLocks{}, fixedClock)
	asked := Read{After: testNow.Add(-time.Minute), MinLogins: 2, AllowStale: true}
	if _, _, err := svc.Profile(ctx, "auth0|ada", asked); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Answer(ctx, "auth0|ada", asked, map[string]any{"company": "AE"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Skip(ctx, "auth0|ada", asked, []string{"title"}, ""); err != nil {
		t.Fatal(err)
	}
	write := Read{After: asked.After, MinLogins: 2, Exclusive: true}
	if want := []Read{asked, write, write}; !slices.Equal(store.reads, want) {
		t.Errorf("reads = %+v, want %+v", store.reads, want)
	}
}

func TestServiceHoldsTheUserLockFromReadToWrite(t *testing.T) {
	store := &memLocks{memStore: newMemStore(t, newUser(2, time.Hour, named))}
	svc := NewService(mustDefaultRules(t), store.memStore, store, fixedClock)
	if _, err := svc.Answer(ctx, "auth0|ada", Read{}, map[string]any{"company": "AE"}, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := store.callLog(), []string{"lock", "get", "update", "unlock"}; !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
	// Reads alone do not lock.
	store.calls = nil
	if _, _, err := svc.Profile(ctx, "auth0|ada", Read{}); err != nil {
		t.Fatal(err)
	}
	if got := store.callLog(); !slices.Equal(got, []string{"get"}) {
		t.Errorf("Profile calls = %v", got)
	}

	store.lockErr = fmt.Errorf("redis: %w", ErrUpstreamUnavailable)
	store.calls = nil
	if _, err := svc.Skip(ctx, "auth0|ada", Read{}, []string{"title"}, ""); !errors.Is(err, ErrUpstreamUnavailable) {
		t.Errorf("Skip with a failing lock: %v", err)
	}
	if got := store.callLog(); len(got) != 0 {
		t.Errorf("calls without the lock = %v, want none", got)
	}
}

// With the lock, concurrent writers of one user keep every answer's record
// even though each write replaces the whole bookkeeping object.
func TestServiceConcurrentWritersLoseNothingUnderTheLock(t *testing.T) {
	store := &memLocks{memStore: newMemStore(t, newUser(4, time.Hour))}
	store.readPause = 5 * time.Millisecond // without the lock, records get lost
	rules := mustDefaultRules(t)
	svc := NewService(rules, store.memStore, store, fixedClock)
	answers := []map[string]any{
		{"firstName": "Ada"}, {"lastName": "Lovelace"}, {"company": "AE"},
		{"title": "Countess"}, {"phone": "+14155552671"}, {"subscribed": true},
	}
	var wg sync.WaitGroup
	for _, a := range answers {
		wg.Go(func() {
			if out, err := svc.Answer(ctx, "auth0|ada", Read{}, a, ""); err != nil || out.Problems != nil {
				t.Errorf("Answer(%v): %+v %v", a, out, err)
			}
		})
	}
	wg.Go(func() {
		if _, err := svc.Skip(ctx, "auth0|ada", Read{}, []string{"title"}, ""); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()

	stored := store.stored("auth0|ada")
	collected, _ := readBookkeeping(stored.AppMetadata)
	var keys []string
	for k := range collected {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"company", "firstName", "lastName", "phone", "subscribed", "title"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("collected records = %v, want %v", keys, want)
	}
	if p := rules.Profile(stored, testNow); p.Completion != 1 {
		t.Errorf("completion = %v, want every answer stored", p.Completion)
	}
}
