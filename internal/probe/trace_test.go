package probe

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
)

func TestTraceString(t *testing.T) {
	tests := []struct {
		name string
		add  func(*Trace)
		want string
	}{
		{"formatted line", func(tr *Trace) { tr.Addf("waited %s for the slot", time.Second) }, "waited 1s for the slot"},
		{"HTTP exchange", func(tr *Trace) {
			tr.AddHTTP(hitron.TraceEvent{Method: "GET", Path: "/data/dsinfo.asp", Status: 200, Bytes: 2743, Duration: 1234567 * time.Nanosecond})
		}, "HTTP GET /data/dsinfo.asp → 200, 2743 bytes, 1.235ms"},
		{"failed HTTP exchange", func(tr *Trace) {
			tr.AddHTTP(hitron.TraceEvent{Method: "POST", Path: "/goform/login", Duration: time.Millisecond, Err: errors.New("connection reset")})
		}, "HTTP POST /goform/login → 0, 0 bytes, 1ms, error: connection reset"},
		{"parsed page", func(tr *Trace) { tr.AddParsed("dsinfo", 2743) }, "dsinfo: parsed 2743 bytes"},
		{"skipped page", func(tr *Trace) { tr.AddSkipped("getOFDMAInfo") }, "getOFDMAInfo: skipped, the firmware lacks it (404 earlier)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTrace()
			tt.add(tr)
			got := tr.String()
			if !strings.HasSuffix(got, "s  "+tt.want+"\n") || strings.Count(got, "\n") != 1 {
				t.Fatalf("trace %q, want one line ending in %q", got, tt.want)
			}
		})
	}
}

// TestTraceRecordsWithoutAllocating: an HTTP exchange, a parsed or a
// skipped page, the lines every probe writes a dozen of, cost no allocation while the
// trace has room.
func TestTraceRecordsWithoutAllocating(t *testing.T) {
	ev := hitron.TraceEvent{Method: "GET", Path: "/data/dsinfo.asp", Status: 200, Bytes: 2743, Duration: time.Millisecond}
	tr := newTrace()
	if n := testing.AllocsPerRun(10, func() { tr.AddHTTP(ev); tr.AddParsed("dsinfo", 2743); tr.AddSkipped("getOFDMAInfo") }); n != 0 {
		t.Fatalf("%v allocations per three lines, want 0", n)
	}
}
