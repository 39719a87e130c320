package modemsim

import (
	"strings"
	"testing"
)

// TestModelDataSetsAreTheRealModels: the demo choices are every data set
// but the test-only ones, and each test-only one exists.
func TestModelDataSetsAreTheRealModels(t *testing.T) {
	got := strings.Join(ModelDataSets(), " ")
	if got != "CGNM-2250 CGNV4-FX4 CODA-45 CODA-4680 CODA-56" {
		t.Fatalf("model data sets: %s", got)
	}
	all := strings.Join(DataSets(), " ")
	for n := range testDataSets {
		if !strings.Contains(" "+all+" ", " "+n+" ") {
			t.Errorf("test data set %s does not exist", n)
		}
	}
}

// TestRESTDialectServesTheRESTDataSet: a simulator of the REST dialect
// with no data set named serves the REST family's default one.
func TestRESTDialectServesTheRESTDataSet(t *testing.T) {
	sim, err := New(Config{Dialect: DialectREST})
	if err != nil {
		t.Fatal(err)
	}
	if sim.dataSet != DefaultRESTDataSet {
		t.Fatalf("data set %s, want %s", sim.dataSet, DefaultRESTDataSet)
	}
}
