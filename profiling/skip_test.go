package profiling

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestCooldownGrowsAndIsCapped(t *testing.T) {
	p := Policy{SkipCooldown: 72 * time.Hour, SkipBackoff: 2, SkipCooldownMax: 400 * time.Hour}
	for count, want := range map[int]time.Duration{0: 72 * time.Hour, 1: 72 * time.Hour, 2: 144 * time.Hour, 3: 288 * time.Hour, 4: 400 * time.Hour, 1000: 400 * time.Hour} {
		if got := p.Cooldown(count); got != want {
			t.Errorf("Cooldown(%d) = %s, want %s", count, got, want)
		}
	}
	flat := Policy{SkipCooldown: time.Hour, SkipBackoff: 1, SkipCooldownMax: time.Hour}
	if got := flat.Cooldown(5); got != time.Hour {
		t.Errorf("backoff 1: Cooldown(5) = %s", got)
	}
}

// A user presses "not now" on company again and again, each time once the
// cool-down is over: it grows 72h, 144h, 288h; a repeat within the cool-down
// writes nothing; answering resets it.
func TestNotNowGrowsWithEachSkipOfTheSameField(t *testing.T) {
	r := mustDefaultRules(t)
	u := newUser(2, 50*24*time.Hour, named)
	now := testNow
	for i, want := range []time.Duration{72 * time.Hour, 144 * time.Hour, 288 * time.Hour} {
		p, errs := r.Skip(u, []string{"company"}, "", now)
		if errs != nil || p.IsEmpty() {
			t.Fatalf("skip %d: %v %v", i+1, p, errs)
		}
		u = applyPatch(t, u, p)
		v, _ := r.Profile(u, now).Value("company")
		if v.SkipCount != i+1 || !v.SkippedUntil.Equal(now.Add(want)) || v.Dismissed {
			t.Fatalf("after skip %d: count %d until %s, want %d and %s", i+1, v.SkipCount, v.SkippedUntil, i+1, now.Add(want))
		}
		if again, _ := r.Skip(u, []string{"company"}, "", now.Add(want-time.Second)); !again.IsEmpty() {
			t.Errorf("a repeat within the cool-down wrote %v", again)
		}
		pending, _ := r.Profile(u, now.Add(want-time.Second)).Pending("", nil)
		if slices.Contains(pendingKeys(t, pending), "returning:company") {
			t.Errorf("company pending within its cool-down")
		}
		now = now.Add(want)
		pending, _ = r.Profile(u, now).Pending("", nil)
		if !slices.Contains(pendingKeys(t, pending), "returning:company") {
			t.Errorf("company not pending once the cool-down of %s passed: %v", want, pendingKeys(t, pending))
		}
	}
	p, _ := r.Answer(u, map[string]any{"company": "AE"}, "", now)
	u = applyPatch(t, u, p)
	if v, _ := r.Profile(u, now).Value("company"); v.SkipCount != 0 {
		t.Errorf("answering left skip count %d", v.SkipCount)
	}
}

func TestNeverAskUntilAnsweredOrRestored(t *testing.T) {
	r := mustDefaultRules(t)
	u := newUser(2, 50*24*time.Hour, named)
	p, errs := r.Dismiss(u, []string{"title"}, "settings", testNow)
	if errs != nil || p.IsEmpty() {
		t.Fatalf("dismiss: %v %v", p, errs)
	}
	checkPatchAllowed(t, r, p)
	u = applyPatch(t, u, p)
	years := testNow.Add(10 * 365 * 24 * time.Hour)
	pr := r.Profile(u, years)
	pending, _ := pr.Pending("", nil)
	if slices.Contains(pendingKeys(t, pending), "returning:title") {
		t.Fatal("a dismissed field is pending ten years on")
	}
	if v, _ := pr.Value("title"); !v.Dismissed || !v.SkippedUntil.IsZero() || !v.SkippedAt.Equal(testNow) {
		t.Errorf("dismissed value = %+v", v)
	}
	if again, _ := r.Dismiss(u, []string{"title"}, "", years); !again.IsEmpty() {
		t.Errorf("a second dismissal wrote %v", again)
	}
	if notNow, _ := r.Skip(u, []string{"title"}, "", years); !notNow.IsEmpty() {
		t.Errorf("not now on a dismissed field wrote %v", notNow)
	}

	restored, errs := r.Restore(u, []string{"title"}, "", years)
	if errs != nil || restored.IsEmpty() {
		t.Fatalf("restore: %v %v", restored, errs)
	}
	u2 := applyPatch(t, u, restored)
	pending, _ = r.Profile(u2, years).Pending("", nil)
	if !slices.Contains(pendingKeys(t, pending), "returning:title") {
		t.Errorf("restored title not pending: %v", pendingKeys(t, pending))
	}
	// Answering also ends the dismissal.
	answered, _ := r.Answer(u, map[string]any{"title": "Engineer"}, "", years)
	if v, _ := r.Profile(applyPatch(t, u, answered), years).Value("title"); v.Dismissed {
		t.Error("an answered field is still dismissed")
	}
	if _, errs := r.Restore(u, []string{"fax"}, "", years); len(errs) != 1 || errs[0].Code != CodeUnknownField {
		t.Errorf("restore of an unknown key: %v", errs)
	}
}

// Skip records of fields no longer in the catalogue are dropped on the next
// write, so the bookkeeping stays bounded by the catalogue.
func TestSkipHistoryIsCompacted(t *testing.T) {
	r := mustDefaultRules(t)
	u := newUser(2, time.Hour, named, withAppMetadata(BookkeepingKey, map[string]any{
		"skipped": map[string]any{"retired": map[string]any{"at": testNow.Format(time.RFC3339), "count": 9.0}},
	}))
	p, _ := r.Skip(u, []string{"company"}, "", testNow)
	skipped := p.AppMetadata[BookkeepingKey].(map[string]any)["skipped"].(map[string]any)
	if _, ok := skipped["retired"]; ok || skipped["company"] == nil {
		t.Errorf("skipped after compaction = %v", skipped)
	}
}

// counter is an in-memory PromptCounter.
type counter struct {
	mu     sync.Mutex
	counts map[string]PromptCounts
	err    error
}

func (c *counter) Prompts(_ context.Context, id string, _ time.Time) (PromptCounts, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[id], c.err
}

func (c *counter) AddPrompt(_ context.Context, id string, _ time.Time) (PromptCounts, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return PromptCounts{}, c.err
	}
	n := c.counts[id]
	n.Day++
	n.Week++
	c.counts[id] = n
	return n, nil
}

func TestQuestionBudget(t *testing.T) {
	r := mustDefaultRules(t) // 3 a day, 10 a week
	u := newUser(1, time.Hour)
	store := newMemStore(t, u)
	c := &counter{counts: map[string]PromptCounts{}}
	svc := NewService(r, store, NoLocks{}, func() time.Time { return testNow }).WithPromptCounter(c)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		out, err := svc.PromptShown(ctx, u.ID, Read{}, []string{"firstName", "lastName"}, "")
		if err != nil || len(out.Problems) > 0 {
			t.Fatal(err, out.Problems)
		}
		if (len(out.Pending) == 0) != (i == 3) {
			t.Errorf("after prompt %d: pending %v", i, pendingKeys(t, out.Pending))
		}
	}
	p, _, _ := svc.Profile(ctx, u.ID, Read{})
	if pending, _ := p.Pending("article", nil); len(pending) != 0 {
		t.Errorf("the day's budget is spent, yet pending in another context: %v", pendingKeys(t, pending))
	}
	if slices.Contains(store.callLog(), "update") {
		t.Error("counting prompts wrote to the user")
	}
	// An empty prompt counts nothing; unknown keys are refused.
	if out, _ := svc.PromptShown(ctx, u.ID, Read{}, nil, ""); c.counts[u.ID].Day != 3 || out.Problems != nil {
		t.Errorf("an empty prompt counted: %v", c.counts[u.ID])
	}
	if out, _ := svc.PromptShown(ctx, u.ID, Read{}, []string{"fax"}, ""); len(out.Problems) != 1 || c.counts[u.ID].Day != 3 {
		t.Errorf("unknown key: %v, counts %v", out.Problems, c.counts[u.ID])
	}
	// The next day the daily budget is back, until the week's is spent.
	c.counts[u.ID] = PromptCounts{Day: 0, Week: 10}
	if p, _, _ := svc.Profile(ctx, u.ID, Read{}); len(must(p.Pending("", nil))) != 0 {
		t.Error("the week's budget is spent, yet fields are pending")
	}
	c.counts[u.ID] = PromptCounts{Day: 0, Week: 9}
	if p, _, _ := svc.Profile(ctx, u.ID, Read{}); len(must(p.Pending("", nil))) == 0 {
		t.Error("budget left, yet nothing pending")
	}
	// A counter that cannot answer does not stop profiling.
	c.err = context.DeadlineExceeded
	c.counts[u.ID] = PromptCounts{Day: 99, Week: 99}
	if p, _, _ := svc.Profile(ctx, u.ID, Read{}); len(must(p.Pending("", nil))) == 0 {
		t.Error("a counter outage stopped profiling")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestBudgetWindows(t *testing.T) {
	for _, tt := range []struct {
		at        time.Time
		day, week string
	}{
		{time.Date(2026, 12, 1, 23, 59, 59, 0, time.UTC), "2026-12-01", "2026-W49"},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2027-01-01", "2026-W53"},
		{time.Date(2026, 12, 2, 0, 30, 0, 0, time.FixedZone("CET", 3600)), "2026-12-01", "2026-W49"},
	} {
		if d, w := BudgetWindows(tt.at); d != tt.day || w != tt.week {
			t.Errorf("BudgetWindows(%s) = %s %s, want %s %s", tt.at, d, w, tt.day, tt.week)
		}
	}
}
