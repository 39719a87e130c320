package loadtest

import (
	"os"
	"strings"
	"syscall"
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

// TestTreeCPUTimeCounts: the threads' scheduler accounting of this process
// grows with work done and agrees with the kernel's rusage of it (no wall
// clock is involved, so a loaded machine cannot fail it).
func TestTreeCPUTimeCounts(t *testing.T) {
	before, err := treeCPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for i := range 50_000_000 {
		sum += i % 7
	}
	after, err := treeCPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	rusage := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if after <= before {
		t.Errorf("work (sum %d) did not move the accounting: %s, then %s", sum, before, after)
	}
	if after < rusage/2 || after > rusage*2 {
		t.Errorf("threads' accounting %s, rusage %s: they disagree", after, rusage)
	}
	if _, err := treeCPUTime(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}
