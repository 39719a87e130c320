package modemsim

import (
	"encoding/json"
	"testing"
)

// TestGrowCodewords: integer counters move by the reads, placeholders and
// odd spellings stay, and a body of another shape is served as it is.
func TestGrowCodewords(t *testing.T) {
	body, err := fixtures.ReadFile("fixtures/CODA-45/dsofdminfo.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	if err := json.Unmarshal(growCodewords(body, 3, 100), &rows); err != nil {
		t.Fatal(err)
	}
	if rows[0]["correcteds"] != "NA" || rows[1]["correcteds"] != "8896752475" || rows[1]["uncorrect"] != "619458" || rows[1]["dsoctets"] != "18013053386" {
		t.Fatalf("grown rows: %v", rows)
	}
	for _, odd := range []string{`{"correcteds":"5"}`, `not json`, `[{"correcteds":"1e3","uncorrect":"-"}]`} {
		if got := string(growCodewords([]byte(odd), 3, 100)); got != odd {
			t.Errorf("%s became %s", odd, got)
		}
	}
}
