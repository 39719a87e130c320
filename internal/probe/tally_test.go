package probe

import (
	"fmt"
	"slices"
	"testing"
)

func TestTally(t *testing.T) {
	tests := []struct {
		name      string
		ops       func(*tally[int])
		wantNames []string
		wantVals  []int
	}{
		{name: "empty", ops: func(*tally[int]) {}},
		{
			name:      "names kept in the order they first came, values summed",
			ops:       func(t *tally[int]) { *t.at("b") += 1; *t.at("a") += 2; *t.at("b") += 3 },
			wantNames: []string{"b", "a"}, wantVals: []int{4, 2},
		},
		{
			name: "more names than its room",
			ops: func(t *tally[int]) {
				for i := range tallyRoom + 3 {
					*t.at(fmt.Sprint(i)) = i
				}
				*t.at("0") += 100
			},
			wantNames: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14"},
			wantVals:  []int{100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tl tally[int]
			tt.ops(&tl)
			var names []string
			var vals []int
			for _, e := range tl.entries {
				names, vals = append(names, e.name), append(vals, e.value)
			}
			if !slices.Equal(names, tt.wantNames) || !slices.Equal(vals, tt.wantVals) {
				t.Errorf("entries %q %v, want %q %v", names, vals, tt.wantNames, tt.wantVals)
			}
			for i, n := range tt.wantNames {
				if v, ok := tl.get(n); !ok || v != tt.wantVals[i] {
					t.Errorf("get(%q) = %d, %v; want %d", n, v, ok, tt.wantVals[i])
				}
			}
			if _, ok := tl.get("absent"); ok {
				t.Error("get found a name never added")
			}
		})
	}
}

func TestTallyAllocatesNothingWithinItsRoom(t *testing.T) {
	names := []string{"login", "fetch", "logout", "connect", "credentials"}
	tl := new(tally[float64]) // as in a probeRun, which is on the heap anyway
	allocs := testing.AllocsPerRun(100, func() {
		tl.entries = nil
		for _, n := range names {
			*tl.at(n) += 1
		}
		if v, _ := tl.get("fetch"); v != 1 {
			t.Fatalf("fetch = %v", v)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations for five names, want 0", allocs)
	}
}
