package hitron

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
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

// IsPlaceholder reports whether s (after trimming) means "no value".
func IsPlaceholder(s string) bool { return placeholders[strings.ToLower(strings.TrimSpace(s))] }

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

// byteCount matches traffic counters such as "40.14M", "1.15G" or "512"
// once the "Bytes" unit is removed.
var byteCount = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*([KMGTP]?)$`)

// byteMultipliers are decimal, as the original exporter chose (the modem's
// documentation does not say).
var byteMultipliers = map[string]float64{"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}

// ParseBytes reads a traffic counter like "40.14M Bytes". The multipliers are
// decimal (K=10³, M=10⁶ …); the modem prints two decimals, so the value is
// only as precise as its last digit.
func ParseBytes(s string) Value {
	s = strings.TrimSpace(s)
	if IsPlaceholder(s) {
		return Value{}
	}
	for _, unit := range []string{"Bytes", "Byte", "B"} {
		if strings.HasSuffix(s, unit) {
			s = strings.TrimSpace(strings.TrimSuffix(s, unit))
			break
		}
	}
	m := byteCount.FindStringSubmatch(s)
	if m == nil {
		return Value{}
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return Value{}
	}
	return Some(f * byteMultipliers[m[2]])
}

// durationPart matches one "<number> <unit>" piece of the many uptime and
// lease formats: "05 Hours", "003 days", "01h", "40m:", "D: 4", "S:10".
var durationPart = regexp.MustCompile(`(?i)(?:(\d+)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b|\b(d|h|m|s)\s*:\s*(\d+|--))`)

// durationSeparators may stand between the parts of a duration.
const durationSeparators = " ,:;"

// ParseDuration reads an uptime or lease duration in any of the formats the
// firmware families use and returns seconds:
//
//	"00 Days,05 Hours,38 Minutes,47 Seconds"   CGNV4 (any number of days)
//	"003 days 01h:40m:02s"                     CGN3, CGNM, CGNVM
//	"84h:37m:16s", "3d 04h:05m:06s"            CODA
//	"D: 4 H: 09 M: 47 S: 10"                   lease on CGN3 ("--" = unknown)
//
// A string with any unknown ("--") part, no recognised part, or leftover
// junk is absent.
func ParseDuration(s string) Value {
	s = strings.TrimSpace(s)
	if IsPlaceholder(s) {
		return Value{}
	}
	matches := durationPart.FindAllStringSubmatchIndex(s, -1)
	if len(matches) == 0 {
		return Value{}
	}
	var total float64
	end := 0 // where the previous part ended
	for _, m := range matches {
		// Everything between the parts must be separators.
		if strings.Trim(s[end:m[0]], durationSeparators) != "" {
			return Value{}
		}
		end = m[1]
		var num, unit string
		if m[2] >= 0 {
			num, unit = s[m[2]:m[3]], s[m[4]:m[5]]
		} else {
			unit, num = s[m[6]:m[7]], s[m[8]:m[9]]
		}
		if num == "--" {
			return Value{}
		}
		n, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return Value{}
		}
		switch strings.ToLower(unit)[0] {
		case 'd':
			total += n * 86400
		case 'h':
			total += n * 3600
		case 'm':
			total += n * 60
		case 's':
			total += n
		}
	}
	if strings.Trim(s[end:], durationSeparators) != "" {
		return Value{}
	}
	return Some(total)
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

// truncatedOffset matches the CGNM's clipped UTC offset "-050" (meant as
// -0500) at the end of a time string.
var truncatedOffset = regexp.MustCompile(`([+-])(\d{3})$`)

// ParseClock reads the modem's systemTime. The CGNV4 format carries no zone:
// the modem shows local time, which is interpreted in loc (UTC unless the
// target's configuration names a zone). The CGNM's clipped offset "-050" is
// read as -05:00.
func ParseClock(s string, loc *time.Location) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	if IsPlaceholder(s) {
		return time.Time{}, fmt.Errorf("no clock value")
	}
	if loc == nil {
		loc = time.UTC
	}
	if m := truncatedOffset.FindStringSubmatchIndex(s); m != nil {
		s = s[:m[0]] + s[m[2]:m[3]] + s[m[4]:m[5]] + "0"
	}
	for _, layout := range clockLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised clock format %q", s)
}
