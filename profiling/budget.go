package profiling

import (
	"context"
	"sync/atomic"
	"time"
)

// The question budget: the policy caps prompts per UTC day and per ISO
// week across every context. A prompt is a non-empty pendingFields answer
// the client reports as shown (PromptShown). Counting costs no write to the
// identity provider: a PromptCounter keeps the counts (in Redis), and only
// the user's own actions are written to the user.

// PromptCounts is how many prompts a user was shown in the current windows.
type PromptCounts struct {
	Day  int // this UTC calendar day
	Week int // this ISO week (Monday to Sunday, UTC)
}

// PromptCounter counts prompts per user in the windows that hold now. The
// Service passes its own clock's now, so windows follow it.
//
// An error means the count is unknown; the Service then does not apply the
// budget (a counter outage must not stop profiling), so implementations
// may log and return it.
type PromptCounter interface {
	// Prompts returns the user's counts in the windows that hold at now.
	Prompts(ctx context.Context, userID string, now time.Time) (PromptCounts, error)
	// AddPrompt counts one prompt at now and returns the new counts.
	AddPrompt(ctx context.Context, userID string, now time.Time) (PromptCounts, error)
}

// BudgetWindows returns the names of the windows that hold at now, as a
// PromptCounter keys them: the UTC day ("2026-12-01") and the ISO week
// ("2026-W49").
func BudgetWindows(now time.Time) (day, week string) {
	now = now.UTC()
	y, m, d := now.Date()
	if w := lastWindows.Load(); w != nil && w.y == y && w.m == m && w.d == d {
		return w.day, w.week
	}
	wy, w := now.ISOWeek()
	names := &windowNames{y: y, m: m, d: d, day: now.Format("2006-01-02"),
		week: time.Date(wy, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") + "-W" + twoDigits(w)}
	lastWindows.Store(names)
	return names.day, names.week
}

// lastWindows are the window names of the last day asked for: every read
// of a profile asks, and all day long the answer is the same.
var lastWindows atomic.Pointer[windowNames]

type windowNames struct {
	y         int
	m         time.Month
	d         int
	day, week string
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}

// hasBudget reports whether the policy caps prompts at all.
func (p Policy) hasBudget() bool { return p.PromptsPerDay > 0 || p.PromptsPerWeek > 0 }

// spent reports whether c uses up the policy's budget.
func (p Policy) spent(c PromptCounts) bool {
	return (p.PromptsPerDay > 0 && c.Day >= p.PromptsPerDay) || (p.PromptsPerWeek > 0 && c.Week >= p.PromptsPerWeek)
}

// WithPrompts returns a copy of p whose Pending applies the question budget
// to counts (the prompts already shown in the current windows).
func (p *Profile) WithPrompts(counts PromptCounts) *Profile {
	c := *p
	c.prompts, c.counted = counts, true
	return &c
}

// Prompts returns the counts the profile's budget was checked against, and
// whether it had any.
func (p *Profile) Prompts() (PromptCounts, bool) {
	return p.prompts, p.counted
}

// overBudget reports whether the budget is spent: then nothing is pending.
func (p *Profile) overBudget() bool {
	return p.counted && p.rules.policy.spent(p.prompts)
}

// WithPromptCounter makes the Service apply the policy's question budget
// with c's counts. Without one there is no budget.
func (s *Service) WithPromptCounter(c PromptCounter) *Service {
	cp := *s
	cp.prompts = c
	return &cp
}

// withPrompts applies the budget to p, when there is one and the count is
// known. p is one the Service has just made and shares with no one, so the
// counts go into it rather than into a copy.
func (s *Service) withPrompts(ctx context.Context, p *Profile, now time.Time) *Profile {
	if s.prompts == nil || !s.rules.policy.hasBudget() {
		return p
	}
	counts, err := s.prompts.Prompts(ctx, p.User.ID, now)
	if err != nil {
		return p
	}
	p.prompts, p.counted = counts, true
	return p
}

// PromptShown counts one prompt of keys for the question budget (keys
// empty: nothing was shown, nothing counted) and reports it to the funnel.
// It writes nothing to the user. Problems (unknown keys, a bad context)
// count nothing.
func (s *Service) PromptShown(ctx context.Context, userID string, r Read, keys []string, interaction string) (*Outcome, error) {
	u, _, err := s.readUser(ctx, userID, r)
	if err != nil {
		return nil, err
	}
	now := s.now()
	profile := s.rules.Profile(u, now)
	if problems := s.rules.checkKeys(keys, interaction); len(problems) > 0 {
		profile = s.withPrompts(ctx, profile, now)
		pending, err := profile.Pending(nextContext(interaction, problems), nil)
		if err != nil {
			return nil, err
		}
		return &Outcome{Profile: profile, Pending: pending, Problems: problems}, nil
	}
	if len(keys) > 0 {
		for _, k := range dedupeKeys(keys) {
			s.funnel.Asked(k, profile.askingStage(k, interaction))
		}
		if s.prompts != nil && s.rules.policy.hasBudget() {
			if counts, err := s.prompts.AddPrompt(ctx, userID, now); err == nil {
				profile = profile.WithPrompts(counts)
			}
		}
	} else {
		profile = s.withPrompts(ctx, profile, now)
	}
	pending, err := profile.Pending(interaction, nil)
	if err != nil {
		return nil, err
	}
	return &Outcome{Profile: profile, Pending: pending}, nil
}

func dedupeKeys(keys []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
