package profiling

import "time"

// The bookkeeping object under app_metadata[BookkeepingKey]:
//
//	{"collected": {"<fieldKey>": {"at": RFC3339, "stage": "...", "context": "..."}},
//	 "skipped":   {"<fieldKey>": {"at": RFC3339, "context": "...", "count": n, "never": true}}}
//
// A collected entry may also hold "rulesVersion" and "consentVersion"; a
// skipped entry's count is how many "not now"s in a row the field has had
// (its cool-down grows with it) and never marks a "never ask" (dismissal).
// There is one entry per field, so the object stays bounded by the
// catalogue; entries of fields no longer in it are dropped on the next
// write (see compact).
//
// It is read defensively (anything malformed counts as absent) because it
// lives in a store other tools can write to.
const (
	bkCollected      = "collected"
	bkSkipped        = "skipped"
	bkAt             = "at"
	bkStage          = "stage"
	bkContext        = "context"
	bkCount          = "count"
	bkRulesVersion   = "rulesVersion"
	bkConsentVersion = "consentVersion"
	bkNever          = "never"
)

type collectedEntry struct {
	At             time.Time
	Stage          string
	Context        string
	RulesVersion   string
	ConsentVersion string
}

type skippedEntry struct {
	At      time.Time
	Context string
	Count   int  // "not now"s in a row, at least 1
	Never   bool // "never ask": hidden until answered or restored
}

// readBookkeeping returns the collected and skipped entries with a valid time,
// for look-ups only: a section without any is a nil map (most users have no
// skips, and a new user nothing at all).
func readBookkeeping(appMetadata map[string]any) (map[string]collectedEntry, map[string]skippedEntry) {
	var collected map[string]collectedEntry
	var skipped map[string]skippedEntry
	root, _ := appMetadata[BookkeepingKey].(map[string]any)
	for key, raw := range asMap(root[bkCollected]) {
		e := asMap(raw)
		if at, ok := parseTime(e[bkAt]); ok {
			if collected == nil {
				collected = map[string]collectedEntry{}
			}
			collected[key] = collectedEntry{At: at, Stage: asString(e[bkStage]), Context: asString(e[bkContext]),
				RulesVersion: asString(e[bkRulesVersion]), ConsentVersion: asString(e[bkConsentVersion])}
		}
	}
	for key, raw := range asMap(root[bkSkipped]) {
		e := asMap(raw)
		if at, ok := parseTime(e[bkAt]); ok {
			if skipped == nil {
				skipped = map[string]skippedEntry{}
			}
			skipped[key] = skippedEntry{At: at, Context: asString(e[bkContext]), Count: max(1, asInt(e[bkCount])), Never: e[bkNever] == true}
		}
	}
	return collected, skipped
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// asInt reads a JSON number (float64 after a round trip) as an int.
func asInt(v any) int {
	switch n := v.(type) {
	case float64:
		if n >= 0 && n < 1<<20 {
			return int(n)
		}
	case int:
		return n
	}
	return 0
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func parseTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// bookkeepingEdit builds the new bookkeeping object. Auth0 replaces nested
// objects on PATCH, so the patch carries the whole object: a deep copy of
// the stored one (entries this code does not know survive) with the edits.
type bookkeepingEdit struct {
	root, collected, skipped map[string]any
	changed                  bool
}

func editBookkeeping(appMetadata map[string]any) *bookkeepingEdit {
	root, ok := deepCopy(appMetadata[BookkeepingKey]).(map[string]any)
	if !ok {
		root = map[string]any{}
	}
	e := &bookkeepingEdit{root: root}
	e.collected = e.section(bkCollected)
	e.skipped = e.section(bkSkipped)
	return e
}

func (e *bookkeepingEdit) section(name string) map[string]any {
	m, ok := e.root[name].(map[string]any)
	if !ok {
		m = map[string]any{}
		e.root[name] = m
	}
	return m
}

func (e *bookkeepingEdit) collect(key string, at time.Time, stage, interaction, rulesVersion, consentVersion string) {
	entry := map[string]any{bkAt: formatTime(at), bkStage: stage, bkContext: interaction}
	if rulesVersion != "" {
		entry[bkRulesVersion] = rulesVersion
	}
	if consentVersion != "" {
		entry[bkConsentVersion] = consentVersion
	}
	e.collected[key] = entry
	e.changed = true
	e.unskip(key)
}

func (e *bookkeepingEdit) uncollect(key string) {
	if _, ok := e.collected[key]; ok {
		delete(e.collected, key)
		e.changed = true
	}
}

func (e *bookkeepingEdit) skip(key string, at time.Time, interaction string, count int, never bool) {
	entry := map[string]any{bkAt: formatTime(at), bkContext: interaction, bkCount: count}
	if never {
		entry[bkNever] = true
	}
	e.skipped[key] = entry
	e.changed = true
}

func (e *bookkeepingEdit) unskip(key string) {
	if _, ok := e.skipped[key]; ok {
		delete(e.skipped, key)
		e.changed = true
	}
}

// deepCopy copies the JSON-shaped values metadata holds, so an edit never
// mutates a user snapshot that a cache or another request may share.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}
