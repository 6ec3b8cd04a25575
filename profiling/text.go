package profiling

import (
	"unicode"
	"unicode/utf8"
)

// cleanText reports whether s is valid UTF-8 free of control and invisible
// formatting characters (Unicode Cc and Cf, and the line/paragraph
// separators Zl and Zp). Such characters have no place in a one-line profile
// value and are how bidi-override and hidden-text tricks get in.
//
// ZERO WIDTH NON-JOINER and ZERO WIDTH JOINER (both Cf) are allowed: Persian
// and Indic names and emoji sequences need them.
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\u200c' || r == '\u200d':
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp):
			return false
		}
	}
	return true
}
