package profiling

import (
	"context"
	"math"
	"time"
)

// Respectful asking: "not now" hides a field for a cool-down that grows
// with each "not now" of the same field (skipCooldown, times skipBackoff
// per repeat, capped at skipCooldownMax); "never ask" (a dismissal) hides
// it until the user answers it or withdraws the dismissal (Restore).

// Cooldown is how long the count-th "not now" in a row of one field hides
// it: SkipCooldown × SkipBackoff^(count-1), at most SkipCooldownMax.
func (p Policy) Cooldown(count int) time.Duration {
	d := float64(p.SkipCooldown)
	if count > 1 && p.SkipBackoff > 1 {
		d *= math.Pow(p.SkipBackoff, float64(count-1))
	}
	if limit := p.SkipCooldownMax; limit > 0 && (d > float64(limit) || math.IsInf(d, 0)) {
		return limit
	}
	return time.Duration(d)
}

// skipUntil is when a "not now" entry stops hiding its field.
func (p *Profile) skipUntil(s skippedEntry) time.Time {
	return s.At.Add(p.rules.policy.Cooldown(s.Count))
}

// hidden reports whether key is dismissed or skipped within its cool-down.
func (p *Profile) hidden(key string) bool {
	s, ok := p.skipped[key]
	return ok && (s.Never || p.now.Before(p.skipUntil(s)))
}

// annotateSkip copies the field's skip record into its Value.
func (p *Profile) annotateSkip(v *Value) {
	s, ok := p.skipped[v.Field.Key]
	if !ok {
		return
	}
	v.SkipCount, v.Dismissed, v.SkippedAt = s.Count, s.Never, s.At
	if !s.Never {
		v.SkippedUntil = p.skipUntil(s)
	}
}

// Dismiss records "never ask" for keys: they are not pending again until
// the user answers them or Restore withdraws the dismissal. Problems and
// patch as for Skip.
func (r *Rules) Dismiss(u *User, keys []string, interaction string, now time.Time) (Patch, []FieldError) {
	return r.skip(u, keys, interaction, now, true)
}

// Restore withdraws "never ask" and "not now" for keys: they may be asked
// again at once (a fresh "not now" starts the cool-down from the start).
func (r *Rules) Restore(u *User, keys []string, interaction string, now time.Time) (Patch, []FieldError) {
	if u == nil {
		u = &User{}
	}
	if errs := r.checkKeys(keys, interaction); len(errs) > 0 {
		return Patch{}, errs
	}
	bk := editBookkeeping(u.AppMetadata)
	for _, k := range keys {
		bk.unskip(k)
	}
	r.compact(bk)
	return bk.patch(), nil
}

func (r *Rules) checkKeys(keys []string, interaction string) []FieldError {
	var errs []FieldError
	if e, ok := r.contextError(interaction); ok {
		errs = append(errs, e)
	}
	return append(errs, r.unknownKeys(keys)...)
}

// skip records "not now" (never false) or "never ask" (never true). A field
// that is not askable needs no record, and a repeat within the cool-down is
// a retry: neither writes anything. A "not now" after the cool-down counts
// one more in a row; a dismissal keeps the count.
func (r *Rules) skip(u *User, keys []string, interaction string, now time.Time, never bool) (Patch, []FieldError) {
	if u == nil {
		u = &User{}
	}
	if errs := r.checkKeys(keys, interaction); len(errs) > 0 {
		return Patch{}, errs
	}
	if len(keys) == 0 {
		return Patch{}, nil
	}
	profile := r.Profile(u, now)
	bk := editBookkeeping(u.AppMetadata)
	for _, k := range keys {
		if !profile.askable(k) {
			continue
		}
		prev, skippedBefore := profile.skipped[k]
		switch {
		case never && prev.Never:
			continue
		case never:
			bk.skip(k, now, interaction, max(1, prev.Count), true)
		case prev.Never || profile.hidden(k):
			continue
		case skippedBefore:
			bk.skip(k, now, interaction, prev.Count+1, false)
		default:
			bk.skip(k, now, interaction, 1, false)
		}
	}
	r.compact(bk)
	return bk.patch(), nil
}

// askable reports whether key could be asked at all (ignoring stages and
// skips): unknown, or known but due for re-confirmation or consent.
func (p *Profile) askable(key string) bool {
	v, ok := p.Value(key)
	return ok && (!v.Known || p.due(v) != "")
}

// compact drops skip records of fields no longer in the catalogue, so the
// bookkeeping stays bounded by it.
func (r *Rules) compact(bk *bookkeepingEdit) {
	for k := range bk.skipped {
		if _, ok := r.byKey[k]; !ok {
			delete(bk.skipped, k)
			bk.changed = true
		}
	}
}

// patch is the bookkeeping write, or an empty patch when nothing changed.
func (e *bookkeepingEdit) patch() Patch {
	if !e.changed {
		return Patch{}
	}
	return Patch{AppMetadata: map[string]any{BookkeepingKey: e.root}}
}

// Dismiss records "never ask" for keys (see Rules.Dismiss).
func (s *Service) Dismiss(ctx context.Context, userID string, r Read, keys []string, interaction string) (*Outcome, error) {
	return s.change(ctx, userID, r, interaction, func(u *User, now time.Time) (Patch, []FieldError) {
		return s.rules.Dismiss(u, keys, interaction, now)
	})
}

// Restore withdraws "never ask" and "not now" for keys (see Rules.Restore).
func (s *Service) Restore(ctx context.Context, userID string, r Read, keys []string, interaction string) (*Outcome, error) {
	return s.change(ctx, userID, r, interaction, func(u *User, now time.Time) (Patch, []FieldError) {
		return s.rules.Restore(u, keys, interaction, now)
	})
}
