package hitron

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{"17.400", Some(17.4)},
		{"-1.100", Some(-1.1)},
		{"    0.0000", Some(0)},
		{" 713600000", Some(713600000)},
		{"35.750 dBmV", Some(35.75)},
		{"40.9dB", Some(40.9)},
		{"NA", Value{}},
		{"N/A", Value{}},
		{"-", Value{}},
		{"--", Value{}},
		{"TODO", Value{}},
		{"", Value{}},
		{"  ", Value{}},
		{"abc", Value{}},
		{"12.5.3", Value{}},
		{"1e999", Value{}},
		{"3 * 2e32 + 1", Value{}},
		{"NaN", Value{}},
		{"nan", Value{}},
		{"-nan", Value{}},
		{"Inf", Value{}},
		{"-Inf", Value{}},
		{"+Inf", Value{}},
		{"Infinity", Value{}},
		{"inf dB", Value{}},
		{"0x1p4", Value{}},
		{"  007.50  ", Some(7.5)},
		{"+3.0", Some(3)},
	}
	for _, tt := range tests {
		if got := ParseNumber(tt.in); got != tt.want {
			t.Errorf("ParseNumber(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseCounter(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{"18013053386", Some(18013053386)},
		{"3 * 2e32 + 1025007675", Some(3*4294967296 + 1025007675)},
		{"0 * 2e32 + 5", Some(5)},
		{"NA", Value{}},
		{"-5", Value{}},
		{"3 * 2e32 +", Value{}},
		{"NaN", Value{}},
		{"Inf", Value{}},
	}
	for _, tt := range tests {
		if got := ParseCounter(tt.in); got != tt.want {
			t.Errorf("ParseCounter(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{"40.14M Bytes", Some(40.14e6)},
		{"1.15G Bytes", Some(1.15e9)},
		{"12K Bytes", Some(12e3)},
		{"512 Bytes", Some(512)},
		{"0 Bytes", Some(0)},
		{"2.5T Bytes", Some(2.5e12)},
		{"TODO", Value{}},
		{"NaN Bytes", Value{}},
		{"lots", Value{}},
		{"5X Bytes", Value{}},
	}
	for _, tt := range tests {
		got := ParseBytes(tt.in)
		if got.Valid != tt.want.Valid || (got.Valid && abs(got.V-tt.want.V) > 1e-3) {
			t.Errorf("ParseBytes(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{"00 Days,05 Hours,38 Minutes,47 Seconds", Some(5*3600 + 38*60 + 47)},
		{"03 Days,07 Hours,07 Minutes,00 Seconds", Some(3*86400 + 7*3600 + 7*60)},
		{"1234 Days,23 Hours,59 Minutes,59 Seconds", Some(1234*86400 + 23*3600 + 59*60 + 59)},
		{"003 days 01h:40m:02s", Some(3*86400 + 3600 + 40*60 + 2)},
		{"84h:37m:16s", Some(84*3600 + 37*60 + 16)},
		{"3d 04h:05m:06s", Some(3*86400 + 4*3600 + 5*60 + 6)},
		{"D: 4 H: 09 M: 47 S: 10", Some(4*86400 + 9*3600 + 47*60 + 10)},
		{"D: 4 H: 09 M: 47 S:10", Some(4*86400 + 9*3600 + 47*60 + 10)},
		{"D: -- H: -- M: -- S: --", Value{}},
		{"00 Days,00 Hours,00 Minutes,00 Seconds", Some(0)},
		{"--", Value{}},
		{"forever", Value{}},
		{"5 Days and change", Value{}},
		{"1234h:05m:06s", Some(1234*3600 + 5*60 + 6)},
		{" 84h:37m:16s ", Some(84*3600 + 37*60 + 16)},
		{"84H:37M:16S", Some(84*3600 + 37*60 + 16)},
		{"NaN", Value{}},
	}
	for _, tt := range tests {
		if got := ParseDuration(tt.in); got != tt.want {
			t.Errorf("ParseDuration(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseClock(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"Fri Jun 17, 2022, 17:09:10", time.Date(2022, 6, 17, 17, 9, 10, 0, time.UTC), false},
		{"Thu Aug 01, 2024, 03:54:46", time.Date(2024, 8, 1, 3, 54, 46, 0, time.UTC), false},
		{"Wed, 29 May 2019 20:24:52 -050", time.Date(2019, 5, 30, 1, 24, 52, 0, time.UTC), false},
		{"--", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseClock(tt.in, time.UTC)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseClock(%q) err = %v", tt.in, err)
			continue
		}
		if !tt.wantErr && !got.Equal(tt.want) {
			t.Errorf("ParseClock(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// clippedOffsetReference is the expression the reference finds the CGNM's
// clipped offset with.
var clippedOffsetReference = regexp.MustCompile(`([+-])(\d{3})$`)

// parseClockReference is ParseClock as it was before its fast paths
// (every string re-spaced through strings.Fields, the clipped offset found
// by a regular expression): the oracle the fast paths must agree with.
func parseClockReference(s string, loc *time.Location) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	if IsPlaceholder(s) {
		return time.Time{}, fmt.Errorf("no clock value")
	}
	if loc == nil {
		loc = time.UTC
	}
	if m := clippedOffsetReference.FindStringSubmatchIndex(s); m != nil {
		s = s[:m[0]] + s[m[2]:m[3]] + s[m[4]:m[5]] + "0"
	}
	for _, layout := range clockLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised clock format %q", s)
}

// sameClockAsReference fails t when ParseClock and the reference disagree
// on s.
func sameClockAsReference(t *testing.T, s string) {
	t.Helper()
	got, err := ParseClock(s, time.UTC)
	want, wantErr := parseClockReference(s, time.UTC)
	if (err != nil) != (wantErr != nil) || !got.Equal(want) {
		t.Fatalf("ParseClock(%q) = %v, %v; the reference %v, %v", s, got, err, want, wantErr)
	}
}

// TestParseClockMatchesReference: the single-spaced and clipped-offset
// fast paths read every shape as the general path does.
func TestParseClockMatchesReference(t *testing.T) {
	for _, s := range clockCorners {
		t.Run(s, func(t *testing.T) { sameClockAsReference(t, s) })
	}
}

// clockCorners are the inputs TestParseClockMatchesReference checks and
// FuzzValues starts from.
var clockCorners = []string{
	"Fri Jun 17, 2022, 17:09:10", " Fri Jun 17, 2022, 17:09:10", "Fri Jun 17, 2022, 17:09:10 ",
	"Fri  Jun 17, 2022, 17:09:10", "Fri\tJun 17, 2022,\n17:09:10", "Fri\u00a0Jun 17, 2022, 17:09:10",
	"Fri Jun  7, 2022, 17:09:10", "Wed, 29 May 2019 20:24:52 -050", "Wed, 29 May 2019 20:24:52 +050",
	"Wed, 29 May 2019 20:24:52 -0500", "Wed, 29 May 2019 20:24:52 -05", "Wed, 29 May 2019 20:24:52 - 050",
	"Wed, 29 May 2019 20:24:52 -05a", "Wed, 29 May 2019 20:24:52 -050 ", "-050", "+999", "2024-08-01 03:54:46",
	"2024-08-01T03:54:46Z", "--", " -- ", "N/A", "", " ", "yesterday", "Wed, 29 May 2019 20:24:52 -\u0660\u0665\u0660",
}

func TestIsPlaceholder(t *testing.T) {
	for p := range placeholders {
		if len(p) > longestPlaceholder {
			t.Errorf("placeholder %q is longer than longestPlaceholder (%d): it would never be recognised", p, longestPlaceholder)
		}
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"", true}, {"  N/A ", true}, {"Unknown", true}, {" UNKNOWN\t", true}, {"--", true}, {"NaN", true},
		{"unknowns", false}, {"0", false}, {"00 Days,05 Hours", false}, {"n/a n/a", false},
	}
	for _, tt := range tests {
		if got := IsPlaceholder(tt.in); got != tt.want {
			t.Errorf("IsPlaceholder(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// BenchmarkParseClock reads a CGNV4 systemTime with ParseClock and with
// the reference it replaced.
func BenchmarkParseClock(b *testing.B) {
	for _, bc := range []struct {
		name  string
		parse func(string, *time.Location) (time.Time, error)
	}{{"fast", ParseClock}, {"reference", parseClockReference}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.parse("Fri Jun 17, 2022, 17:09:10", time.UTC); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
