package modemsim

import (
	"strings"
	"testing"
)

// TestModelDataSetsAreTheRealModels: the demo choices are every data set
// but the test-only ones, and each test-only one exists.
func TestModelDataSetsAreTheRealModels(t *testing.T) {
	got := strings.Join(ModelDataSets(), " ")
	if got != "CGNM-2250 CGNV4-FX4 CODA-45 CODA-56" {
		t.Fatalf("model data sets: %s", got)
	}
	all := strings.Join(DataSets(), " ")
	for n := range testDataSets {
		if !strings.Contains(" "+all+" ", " "+n+" ") {
			t.Errorf("test data set %s does not exist", n)
		}
	}
}
