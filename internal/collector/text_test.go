package collector

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
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
	values := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e21, 1e-7, 123456789, -2.5, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64,
		999999, -999999, 1e6, -1e6, 999999.5, -0.5, 65536, -42, 1 << 53}
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

// TestSetSortsFamiliesSharingLabels: families whose series carry the same
// label values (a channel's power and SNR) are put in order by one sort;
// every value must stay with its labels, a repeated series keeps its first
// sample, and a family with other label values is sorted on its own.
func TestSetSortsFamiliesSharingLabels(t *testing.T) {
	power := NewGauge("test_power", "Power.", "channel", "port")
	snr := NewGauge("test_snr", "SNR.", "channel", "port")
	other := NewGauge("test_other", "Same count, other labels.", "channel", "port")
	s := NewSet()
	channels := []string{"3", "10", "1", "2", "10"} // "10" repeated
	for i, ch := range channels {
		s.Add(power, float64(100+i), ch, "p"+ch)
		s.Add(snr, float64(200+i), ch, "p"+ch)
		s.Add(other, float64(300+i), ch, "q"+channels[len(channels)-1-i])
	}
	got, ok := s.AppendText(nil)
	if !ok {
		t.Fatal("AppendText refused legacy names")
	}
	want := []string{
		`test_other{channel="1",port="q1"} 302`,
		`test_other{channel="10",port="q2"} 301`,
		`test_other{channel="10",port="q3"} 304`,
		`test_other{channel="2",port="q10"} 303`,
		`test_other{channel="3",port="q10"} 300`,
		`test_power{channel="1",port="p1"} 102`,
		`test_power{channel="10",port="p10"} 101`,
		`test_power{channel="2",port="p2"} 103`,
		`test_power{channel="3",port="p3"} 100`,
		`test_snr{channel="1",port="p1"} 202`,
		`test_snr{channel="10",port="p10"} 201`,
		`test_snr{channel="2",port="p2"} 203`,
		`test_snr{channel="3",port="p3"} 200`,
	}
	var lines []string
	for _, l := range strings.Split(string(got), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("exposition:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestSetKeepsSeriesAddedInOrder: series added already in label order are
// written as added, without a sort; a repeated series next to its first,
// which looks in order to a loose check, is still dropped, in every family
// sharing those labels.
func TestSetKeepsSeriesAddedInOrder(t *testing.T) {
	tests := []struct {
		name     string
		channels []string
		want     []string // the channel label of each power series written
	}{
		{"in order", []string{"1", "2", "3"}, []string{"1", "2", "3"}},
		{"in order, one repeated", []string{"1", "2", "2", "3"}, []string{"1", "2", "3"}},
		{"out of order", []string{"2", "1", "3"}, []string{"1", "2", "3"}},
		{"one series", []string{"7"}, []string{"7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			power := NewGauge("test_power", "Power.", "channel")
			snr := NewGauge("test_snr", "SNR.", "channel")
			s := NewSet()
			for i, ch := range tt.channels {
				s.Add(power, float64(100+i), ch)
				s.Add(snr, float64(200+i), ch)
			}
			got, ok := s.AppendText(nil)
			if !ok {
				t.Fatal("AppendText refused legacy names")
			}
			var want []string
			for _, prefix := range []string{"test_power", "test_snr"} {
				for _, ch := range tt.want {
					first := slices.Index(tt.channels, ch)
					want = append(want, fmt.Sprintf(`%s{channel="%s"} %d`, prefix, ch, map[string]int{"test_power": 100, "test_snr": 200}[prefix]+first))
				}
			}
			var lines []string
			for _, l := range strings.Split(string(got), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			if !slices.Equal(lines, want) {
				t.Fatalf("exposition:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
