package modemsim

import (
	"slices"
	"testing"
	"time"
)

func TestParseLatency(t *testing.T) {
	tests := []struct {
		in    string
		fixed time.Duration
		tail  LongTail
		bad   bool
	}{
		{in: ""},
		{in: "0"},
		{in: "20ms", fixed: 20 * time.Millisecond},
		{in: "longtail:30ms-300ms", tail: LongTail{Min: 30 * time.Millisecond, Max: 300 * time.Millisecond}},
		{in: "5ms+longtail:0s-1s", fixed: 5 * time.Millisecond, tail: LongTail{Max: time.Second}},
		{in: "longtail:300ms-30ms", bad: true},
		{in: "longtail:30ms", bad: true},
		{in: "-1ms", bad: true},
		{in: "fast", bad: true},
	}
	for _, tt := range tests {
		fixed, tail, err := ParseLatency(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseLatency(%q): no error", tt.in)
			}
			continue
		}
		if err != nil || fixed != tt.fixed || tail != tt.tail {
			t.Errorf("ParseLatency(%q) = %v, %+v, %v; want %v, %+v", tt.in, fixed, tail, err, tt.fixed, tt.tail)
		}
	}
}

func TestLongTailDistribution(t *testing.T) {
	tail := LongTail{Min: 30 * time.Millisecond, Max: 300 * time.Millisecond, Seed: 7}
	draw := func() []time.Duration {
		src := newLatencySource(2*time.Millisecond, tail)
		d := make([]time.Duration, 20000)
		for i := range d {
			d[i] = src.next()
		}
		return d
	}
	a, b := draw(), draw()
	if !slices.Equal(a, b) {
		t.Fatal("the same seed drew different delays")
	}
	slices.Sort(a)
	lo, hi := 32*time.Millisecond, 302*time.Millisecond
	if a[0] < lo || a[len(a)-1] > hi {
		t.Fatalf("delays %v..%v outside [%v, %v]", a[0], a[len(a)-1], lo, hi)
	}
	// Median: fixed + Min + (Max−Min)/8 ≈ 65.75 ms; p99 ≈ the cap.
	if med := a[len(a)/2]; med < 60*time.Millisecond || med > 72*time.Millisecond {
		t.Errorf("median %v, want about 66ms", med)
	}
	if p90 := a[len(a)*9/10]; p90 < 110*time.Millisecond || p90 > 160*time.Millisecond {
		t.Errorf("p90 %v, want about 130ms (a long tail)", p90)
	}
	if p995 := a[len(a)*995/1000]; p995 != hi {
		t.Errorf("p99.5 %v, want the cap %v", p995, hi)
	}
	other := newLatencySource(0, LongTail{Min: tail.Min, Max: tail.Max, Seed: 8})
	if other.next() == newLatencySource(0, tail).next() {
		t.Error("different seeds drew the same first delay")
	}
}
