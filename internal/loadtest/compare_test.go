package loadtest

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestCompareSummary(t *testing.T) {
	rounds := []CompareRound{
		{Original: 80 * time.Millisecond, Exporter: 5 * time.Millisecond},
		{Original: 60 * time.Millisecond, Exporter: 4 * time.Millisecond},
		{Original: 90 * time.Millisecond, Exporter: 3 * time.Millisecond},
	}
	got := CompareSummary(rounds)
	for _, want := range []string{"rounds=3", "original_cpu_per_probe=80ms (60ms–90ms)", "exporter_cpu_per_probe=4ms (3ms–5ms)", "ratio=16.0× (15.0–30.0×)"} {
		if !strings.Contains(got, want) {
			t.Errorf("CompareSummary = %q, lacks %q", got, want)
		}
	}
	if CompareSummary(nil) != "no rounds" {
		t.Error("CompareSummary(nil) reported figures")
	}
}

func TestTreeCPUTimeCounts(t *testing.T) {
	before, err := treeCPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
	}
	after, err := treeCPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 10*time.Millisecond {
		t.Errorf("20 ms of spinning counted as %s", after-before)
	}
	if _, err := treeCPUTime(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}
