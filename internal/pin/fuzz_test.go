package pin

import (
	"strings"
	"testing"
)

// FuzzParse: a parsed fingerprint prints back to a form that parses to the
// same value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{strings.Repeat("ab", 32), strings.Repeat("AB:", 31) + "AB", "sha256 Fingerprint=" + strings.Repeat("00:", 31) + "00", "xyz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(fp.String())
		if err != nil || !again.Equal(fp) {
			t.Fatalf("%q: round trip failed: %v", s, err)
		}
	})
}
