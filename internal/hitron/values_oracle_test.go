package hitron

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The regular expressions ParseDuration and ParseBytes were first written
// with, kept as the oracle their hand-written scanners are held to.

// durationPart matches one "<number> <unit>" piece of a duration.
var durationPart = regexp.MustCompile(`(?i)(?:(\d+)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b|\b(d|h|m|s)\s*:\s*(\d+|--))`)

// byteCount matches a traffic counter once its "Bytes" unit is removed.
var byteCount = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*([KMGTP]?)$`)

// parseDurationByRegexp is ParseDuration as the regular expression read it.
func parseDurationByRegexp(s string) Value {
	s = strings.TrimSpace(s)
	if IsPlaceholder(s) {
		return Value{}
	}
	matches := durationPart.FindAllStringSubmatchIndex(s, -1)
	if len(matches) == 0 {
		return Value{}
	}
	var total float64
	end := 0
	for _, m := range matches {
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
		total += n * durationSeconds[strings.ToLower(unit)[0]]
	}
	if strings.Trim(s[end:], durationSeparators) != "" {
		return Value{}
	}
	return Some(total)
}

// parseBytesByRegexp is ParseBytes as the regular expression read it.
func parseBytesByRegexp(s string) Value {
	s, ok := byteCountText(s)
	if !ok {
		return Value{}
	}
	m := byteCount.FindStringSubmatch(s)
	if m == nil {
		return Value{}
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return Value{}
	}
	var unit byte
	if m[2] != "" {
		unit = m[2][0]
	}
	return Some(f * byteMultipliers[unit])
}

// sameValue reports whether a and b are the same reading (NaN aside).
func sameValue(a, b Value) bool { return a.Valid == b.Valid && (!a.Valid || a.V == b.V) }

// asciiOnly reports whether s has no byte outside ASCII.
func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// durationSeeds are the formats of every family and the edges of the
// grammar: word boundaries, case, separators, unknown parts, junk.
var durationSeeds = []string{
	"00 Days,05 Hours,38 Minutes,47 Seconds", "003 days 01h:40m:02s", "84h:37m:16s", "3d 04h:05m:06s",
	"D: 4 H: 09 M: 47 S: 10", "D: 4 H: 09 M: 47 S:10", "D: -- H: -- M: -- S: --", "1234h:05m:06s", "84H:37M:16S",
	"5 Days and change", "forever", "10s20m", "10 s20m", "S: 10H: 5", "D: 4x", "1 day", "2 hrs 3 mins 4 secs",
	"1dayx", "1 d_", "7 minute", "h:5", "x h: 5", "5d,;:6h", "5d\t6h", "5 \n d", ":5d", "d: 5 d: 6", "ds: 5", "5 ds",
	"1 hr 2 hrs", "99999999999999999999999999 days", "d:-- ", "h :  07", "5d6h", "5 SECONDS", "5 dAyS", "0", "5",
}

// FuzzParseDurationMatchesRegexp: the scanner reads what the regular
// expression read. It may differ only on non-ASCII input, where the
// expression's case folding took "ſ" (U+017F) for "s" and the scanner,
// which knows ASCII units only, reads nothing.
func FuzzParseDurationMatchesRegexp(f *testing.F) {
	for _, s := range durationSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := ParseDuration(s), parseDurationByRegexp(s)
		if sameValue(got, want) || (!asciiOnly(s) && !got.Valid) {
			return
		}
		t.Fatalf("ParseDuration(%q) = %+v, the regular expression read %+v", s, got, want)
	})
}

var bytesSeeds = []string{"40.14M Bytes", "1.15G Bytes", "512 Bytes", "512", "0.5K", "5.", ".5K", "5 K", "5KB",
	"5 KBytes", "5\tG", "5M Byte", "5 X", "-5M", "1e3", "5.5.5", "12.34 P Bytes", "5 Bytes Bytes", "--", "NA"}

// TestScannersMatchRegexps: on the seeds, each scanner reads what its
// regular expression read.
func TestScannersMatchRegexps(t *testing.T) {
	tests := []struct {
		name          string
		parse, oracle func(string) Value
		seeds         []string
	}{
		{"ParseDuration", ParseDuration, parseDurationByRegexp, durationSeeds},
		{"ParseBytes", ParseBytes, parseBytesByRegexp, bytesSeeds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.seeds {
				if got, want := tt.parse(s), tt.oracle(s); !sameValue(got, want) {
					t.Errorf("%s(%q) = %+v, the regular expression read %+v", tt.name, s, got, want)
				}
			}
		})
	}
}

// FuzzParseBytesMatchesRegexp: the scanner reads what the regular
// expression read, on any input.
func FuzzParseBytesMatchesRegexp(f *testing.F) {
	for _, s := range bytesSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ParseBytes(s), parseBytesByRegexp(s); !sameValue(got, want) {
			t.Fatalf("ParseBytes(%q) = %+v, the regular expression read %+v", s, got, want)
		}
	})
}

// BenchmarkParseDuration holds the scanner against the regular expression
// on the uptime and lease formats of the families.
func BenchmarkParseDuration(b *testing.B) {
	inputs := []string{"00 Days,05 Hours,38 Minutes,47 Seconds", "003 days 01h:40m:02s", "84h:37m:16s", "D: 4 H: 09 M: 47 S: 10"}
	for name, parse := range map[string]func(string) Value{"scanner": ParseDuration, "regexp": parseDurationByRegexp} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, s := range inputs {
					parse(s)
				}
			}
		})
	}
}
