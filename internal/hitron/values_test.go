package hitron

import (
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
