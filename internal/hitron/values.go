package hitron

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Value is a number the modem reported, or nothing when the modem gave a
// placeholder ("NA", "-", "TODO", "" …) or junk. Absent values are dropped
// from the output, never reported as 0.
type Value struct {
	V     float64
	Valid bool
}

// Some returns a present value.
func Some(v float64) Value { return Value{V: v, Valid: true} }

// placeholders are the strings firmware uses for "no value".
var placeholders = map[string]bool{
	"": true, "na": true, "n/a": true, "-": true, "--": true, "todo": true, "none": true,
	"null": true, "unknown": true, "nan": true,
}

// longestPlaceholder is the length of the longest of placeholders: a
// longer string is none of them, and is not lowered to find out.
const longestPlaceholder = len("unknown")

// IsPlaceholder reports whether s (after trimming) means "no value".
func IsPlaceholder(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) <= longestPlaceholder && placeholders[strings.ToLower(s)]
}

// numberPrefix matches a leading decimal number, so "35.750 dBmV" or
// "40.9 dB" still parse; the unit is ignored.
var numberPrefix = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?`)

// ParseNumber reads a decimal number as the modem writes it: padded with
// spaces, possibly negative, possibly followed by a unit. Placeholders and
// junk give an absent value.
func ParseNumber(s string) Value {
	s = strings.TrimSpace(s)
	if isDecimal(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return Value{}
			}
			return Some(f) // the common case: a plain number
		}
	}
	if IsPlaceholder(s) {
		return Value{}
	}
	m := numberPrefix.FindString(s)
	if m == "" {
		return Value{}
	}
	rest := strings.TrimSpace(s[len(m):])
	if rest != "" && !unitSuffix(rest) {
		return Value{}
	}
	f, err := strconv.ParseFloat(m, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return Value{}
	}
	return Some(f)
}

// isDecimal reports whether s is written with digits, sign, point and
// exponent only (ParseFloat also takes "Inf", "NaN", hex and underscores).
func isDecimal(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return false
		}
	}
	return s != ""
}

// unitSuffix accepts a short alphabetic unit after a number (dBmV, dB, Hz,
// MHz, %, Mbps); anything else means the string is not a number.
func unitSuffix(s string) bool {
	if len(s) > 8 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '%' || r == '/') {
			return false
		}
	}
	return true
}

// octetExpr matches the wrapped-counter expression CODA firmware writes for
// 64-bit octet counts: "3 * 2e32 + 1025007675", meaning 3·2³² + 1025007675.
var octetExpr = regexp.MustCompile(`^(\d+)\s*\*\s*2e32\s*\+\s*(\d+)$`)

// ParseCounter reads a non-negative counter, either plain ("18013053386") or
// in the wrapped form "hi * 2e32 + lo" (hi·2³² + lo; "2e32" there is the
// firmware's spelling of 2³², not 2×10³²).
func ParseCounter(s string) Value {
	s = strings.TrimSpace(s)
	if m := octetExpr.FindStringSubmatch(s); m != nil {
		hi, err1 := strconv.ParseUint(m[1], 10, 32)
		lo, err2 := strconv.ParseUint(m[2], 10, 64)
		if err1 != nil || err2 != nil {
			return Value{}
		}
		return Some(float64(hi)*4294967296 + float64(lo))
	}
	v := ParseNumber(s)
	if !v.Valid || v.V < 0 {
		return Value{}
	}
	return v
}

// byteMultipliers are decimal, as the original exporter chose (the modem's
// documentation does not say), by unit letter (0: none).
var byteMultipliers = map[byte]float64{0: 1, 'K': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'P': 1e15}

// ParseBytes reads a traffic counter like "40.14M Bytes". The multipliers are
// decimal (K=10³, M=10⁶ …); the modem prints two decimals, so the value is
// only as precise as its last digit.
func ParseBytes(s string) Value {
	s, ok := byteCountText(s)
	if !ok {
		return Value{}
	}
	num, unit, ok := splitByteCount(s)
	if !ok {
		return Value{}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return Value{}
	}
	return Some(f * byteMultipliers[unit])
}

// byteCountText is a traffic counter without its white space and its
// "Bytes" unit; ok is false for a placeholder.
func byteCountText(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if IsPlaceholder(s) {
		return "", false
	}
	for _, unit := range []string{"Bytes", "Byte", "B"} {
		if strings.HasSuffix(s, unit) {
			return strings.TrimSpace(strings.TrimSuffix(s, unit)), true
		}
	}
	return s, true
}

// splitByteCount splits "40.14M" (digits, optionally a point and digits,
// optional white space, optionally one of K M G T P, nothing else) into
// its number and unit letter (0 when there is none).
func splitByteCount(s string) (num string, unit byte, ok bool) {
	i := digitsAt(s, 0)
	if i == 0 {
		return "", 0, false
	}
	if i < len(s) && s[i] == '.' {
		if j := digitsAt(s, i+1); j > i+1 {
			i = j
		}
	}
	num = s[:i]
	i = spacesAt(s, i)
	if i < len(s) && strings.IndexByte("KMGTP", s[i]) >= 0 {
		unit = s[i]
		i++
	}
	return num, unit, i == len(s)
}

// digitsAt returns the end of the run of ASCII digits that starts at i.
func digitsAt(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// spacesAt returns the end of the run of white space (tab, line feed, form
// feed, carriage return, space) that starts at i.
func spacesAt(s string, i int) int {
	for i < len(s) && strings.IndexByte("\t\n\f\r ", s[i]) >= 0 {
		i++
	}
	return i
}

// durationSeparators may stand between the parts of a duration.
const durationSeparators = " ,:;"

// durationUnits are the unit words a "<number> <unit>" part may carry, in
// the order they are tried ("days" before "day" before "d"); a unit must end
// the word it is in.
var durationUnits = []string{"days", "day", "d", "hours", "hour", "hrs", "hr", "h",
	"minutes", "minute", "mins", "min", "m", "seconds", "second", "secs", "sec", "s"}

// durationSeconds is how many seconds one of a unit's first letter is.
var durationSeconds = map[byte]float64{'d': 86400, 'h': 3600, 'm': 60, 's': 1}

// ParseDuration reads an uptime or lease duration in any of the formats the
// firmware families use and returns seconds:
//
//	"00 Days,05 Hours,38 Minutes,47 Seconds"   CGNV4 (any number of days)
//	"003 days 01h:40m:02s"                     CGN3, CGNM, CGNVM
//	"84h:37m:16s", "3d 04h:05m:06s"            CODA
//	"D: 4 H: 09 M: 47 S: 10"                   lease on CGN3 ("--" = unknown)
//
// Units are ASCII letters in any case. A string with any unknown ("--")
// part, no recognised part, or anything but separators (" ,:;") between
// the parts is absent.
func ParseDuration(s string) Value {
	s = strings.TrimSpace(s)
	if IsPlaceholder(s) {
		return Value{}
	}
	var total float64
	parts := 0
	for i := 0; ; {
		for i < len(s) && strings.IndexByte(durationSeparators, s[i]) >= 0 {
			i++
		}
		if i == len(s) {
			break
		}
		num, unit, end := durationPartAt(s, i)
		if end < 0 || num == "--" {
			return Value{}
		}
		n, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return Value{}
		}
		total += n * durationSeconds[unit]
		parts++
		i = end
	}
	if parts == 0 {
		return Value{}
	}
	return Some(total)
}

// durationPartAt reads the part of a duration that starts at s[i]: a
// number and a unit word ("05 Hours", "01h"), or a unit letter, a colon
// and a number or "--" ("D: 4", "S:10"). It returns the number, the unit's
// lower-case first letter and where the part ends, or end -1.
func durationPartAt(s string, i int) (num string, unit byte, end int) {
	if j := digitsAt(s, i); j > i {
		k := spacesAt(s, j)
		for _, u := range durationUnits {
			e := k + len(u)
			if e <= len(s) && equalFoldASCII(s[k:e], u) && (e == len(s) || !isWordByte(s[e])) {
				return s[i:j], u[0], e
			}
		}
		return "", 0, -1
	}
	c := lowerASCII(s[i])
	if durationSeconds[c] == 0 || (i > 0 && isWordByte(s[i-1])) {
		return "", 0, -1
	}
	k := spacesAt(s, i+1)
	if k == len(s) || s[k] != ':' {
		return "", 0, -1
	}
	k = spacesAt(s, k+1)
	if j := digitsAt(s, k); j > k {
		return s[k:j], c, j
	}
	if strings.HasPrefix(s[k:], "--") {
		return "--", c, k + 2
	}
	return "", 0, -1
}

// isWordByte reports whether c is an ASCII letter, digit or underscore.
func isWordByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

// equalFoldASCII reports whether a equals the lower-case ASCII word u in
// any case of its ASCII letters.
func equalFoldASCII(a, u string) bool {
	if len(a) != len(u) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != u[i] {
			return false
		}
	}
	return true
}

// lowerASCII is c in lower case when it is an ASCII letter.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// clockLayouts are the systemTime formats seen on the firmware families.
var clockLayouts = []string{
	"Mon Jan 2, 2006, 15:04:05",       // CGNV4, CODA
	"Mon Jan _2, 2006, 15:04:05",      // space-padded day
	"Mon, 2 Jan 2006 15:04:05 -0700",  // RFC 1123 with offset
	"Mon, 02 Jan 2006 15:04:05 -0700", // two-digit day
	"2006-01-02 15:04:05",
	time.RFC3339,
}

// truncatedOffset reports whether s ends in the CGNM's clipped UTC offset
// "-050" (meant as -0500): a sign and exactly three digits.
func truncatedOffset(s string) bool {
	n := len(s)
	if n < 4 || (s[n-4] != '+' && s[n-4] != '-') {
		return false
	}
	for _, c := range []byte(s[n-3:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// singleSpaced reports whether s is already what joining its
// strings.Fields with one space returns: ASCII, no white space but single
// spaces between words. Anything else takes the general path.
func singleSpaced(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf, c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
			return false
		case c == ' ' && (i == 0 || i == len(s)-1 || s[i-1] == ' '):
			return false
		}
	}
	return true
}

// ParseClock reads the modem's systemTime. The CGNV4 format carries no zone:
// the modem shows local time, which is interpreted in loc (UTC unless the
// target's configuration names a zone). The CGNM's clipped offset "-050" is
// read as -05:00.
func ParseClock(s string, loc *time.Location) (time.Time, error) {
	if !singleSpaced(s) {
		s = strings.Join(strings.Fields(s), " ")
	}
	if IsPlaceholder(s) {
		return time.Time{}, fmt.Errorf("no clock value")
	}
	if loc == nil {
		loc = time.UTC
	}
	if truncatedOffset(s) {
		s += "0"
	}
	for _, layout := range clockLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised clock format %q", s)
}
