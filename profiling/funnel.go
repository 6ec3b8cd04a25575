package profiling

// Funnel receives the profiling funnel's events, labelled by field and
// stage only (never by user), for metrics. Implementations must be cheap
// and safe for concurrent use; the Service calls them after a successful
// write (or, for Asked, after counting a prompt).
type Funnel interface {
	Asked(field, stage string)       // shown in a prompt (PromptShown)
	Answered(field, stage string)    // answer recorded
	Reconfirmed(field, stage string) // an answer due for re-confirmation or consent, confirmed or changed
	Skipped(field, stage string)     // "not now" recorded
	Dismissed(field, stage string)   // "never ask" recorded
	Completion(share float64)        // the user's completion after a write
}

// NoFunnel discards every event.
type NoFunnel struct{}

func (NoFunnel) Asked(string, string)       {}
func (NoFunnel) Answered(string, string)    {}
func (NoFunnel) Reconfirmed(string, string) {}
func (NoFunnel) Skipped(string, string)     {}
func (NoFunnel) Dismissed(string, string)   {}
func (NoFunnel) Completion(float64)         {}

// WithFunnel makes the Service report funnel events to f.
func (s *Service) WithFunnel(f Funnel) *Service {
	cp := *s
	cp.funnel = f
	return &cp
}

// reportWrite reports what a write changed, by comparing the bookkeeping
// before and after: a collected entry with a new time is an answer (a
// re-confirmation when the field was due before), a skipped entry with a
// new time a "not now" or a "never ask".
func (s *Service) reportWrite(before, after *Profile) {
	collectedBefore, skippedBefore := readBookkeeping(before.User.AppMetadata)
	collectedAfter, skippedAfter := readBookkeeping(after.User.AppMetadata)
	for key, c := range collectedAfter {
		if old, ok := collectedBefore[key]; ok && old.At.Equal(c.At) {
			continue
		}
		if v, ok := before.Value(key); ok && before.due(v) != "" {
			s.funnel.Reconfirmed(key, c.Stage)
			continue
		}
		s.funnel.Answered(key, c.Stage)
	}
	for key, sk := range skippedAfter {
		if old, ok := skippedBefore[key]; ok && old.At.Equal(sk.At) && old.Never == sk.Never {
			continue
		}
		stage := before.askingStage(key, sk.Context)
		if sk.Never {
			s.funnel.Dismissed(key, stage)
		} else {
			s.funnel.Skipped(key, stage)
		}
	}
	s.funnel.Completion(after.Completion)
}
