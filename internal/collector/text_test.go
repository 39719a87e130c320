package collector

import (
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// oddSet is a Set of samples whose values and label values the text format
// has to escape or spell out.
func oddSet() *Set {
	g := NewGauge("test_odd_values", "Help with a \\ backslash,\na line feed and \"quotes\".", "b_label", "a_label")
	c := NewCounter("test_odd_total", "A counter.")
	s := NewSet()
	values := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e21, 1e-7, 123456789, -2.5, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64}
	labels := []string{"", `back\slash`, `"quoted"`, "line\nfeed", "ünïcödé ✓", "plain"}
	for i, v := range values {
		s.Add(g, v, labels[i%len(labels)], strings.Repeat("x", i))
	}
	s.Add(g, 42, "plain", "") // a repeated series: dropped, the first kept
	s.Add(c, 7)
	return s
}

func TestAppendTextMatchesExpfmt(t *testing.T) {
	sets := map[string]*Set{"odd values": oddSet(), "empty": NewSet()}
	dirs, err := os.ReadDir(filepath.Join("..", "modemsim", "fixtures"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if dir.IsDir() {
			s := NewSet()
			New(load(t, dir.Name()), time.UTC).AddTo(s)
			sets["data set "+dir.Name()] = s
		}
	}
	for name, set := range sets {
		for accept, header := range testkit.ScrapeAccepts() {
			if accept == "protobuf" {
				continue
			}
			t.Run(name+"/"+accept, func(t *testing.T) {
				h := http.Header{}
				if header != "" {
					h.Set("Accept", header)
				}
				format := expfmt.NegotiateAccept(h, expfmt.DefaultAcceptedFormats()...)
				if format.FormatType() != expfmt.TypeTextPlain {
					t.Fatalf("%q negotiates %s, not the text format", header, format)
				}
				got, ok := set.AppendText([]byte("kept "))
				if !ok {
					t.Fatal("AppendText refused a set of legacy names")
				}
				var want strings.Builder
				want.WriteString("kept ")
				mfs, _ := set.Gather()
				enc := expfmt.NewEncoder(&want, format)
				for _, mf := range mfs {
					if err := enc.Encode(mf); err != nil {
						t.Fatal(err)
					}
				}
				if string(got) != want.String() {
					t.Fatalf("AppendText differs from expfmt (%s):\n--- AppendText\n%s\n--- expfmt\n%s", format, got, want.String())
				}
			})
		}
	}
}

func TestAppendTextRefusesNamesThatNeedEscaping(t *testing.T) {
	tests := []struct {
		name   string
		desc   *Desc
		legacy bool
	}{
		{"legacy names", NewGauge("test_legacy", "Legacy.", "a_b"), true},
		{"a label name with a dot", NewGauge("test_bpi_info", "From the modem.", "bpi.status"), false},
		{"a metric name with a dot", NewGauge("test.dotted", "Dotted."), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet()
			s.Add(NewGauge("test_first", "Always legacy."), 1)
			labels := make([]string, len(tt.desc.labels))
			s.Add(tt.desc, 1, labels...)
			out, ok := s.AppendText(nil)
			if ok != tt.legacy || (!ok && len(out) != 0) {
				t.Fatalf("AppendText = %q, %v; want ok %v and nothing appended when refused", out, ok, tt.legacy)
			}
			mfs, _ := s.Gather()
			if len(mfs) != 2 {
				t.Fatalf("Gather gave %d families, want 2 (a name needing escaping is still valid)", len(mfs))
			}
		})
	}
}
