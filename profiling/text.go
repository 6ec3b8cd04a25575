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
// U+FFFD and the noncharacters are refused too: JSON decoders (encoding/json
// included) turn invalid UTF-8 and lone surrogate escapes such as "\ud800"
// into U+FFFD before the value gets here, so refusing it is how invalid
// input stays refused; noncharacters are never meant for interchange.
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
		case r == utf8.RuneError || isNoncharacter(r):
			return false
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp):
			return false
		}
	}
	return true
}

// isNoncharacter reports the 66 Unicode noncharacters: U+FDD0..U+FDEF and
// the last two code points of every plane.
func isNoncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}
