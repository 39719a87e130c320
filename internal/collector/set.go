package collector

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
)

// Desc describes a metric family: name, help, type and label names. It is
// checked by client_golang's own rules (prometheus.NewDesc) when created.
type Desc struct {
	name, help string
	typ        dto.MetricType
	labels     []string
	// sorted[i] is the index, in labels, of the i-th label name in
	// lexical order: label pairs are exposed sorted by name.
	sorted []int
	err    error
	// header is the family's "# HELP" and "# TYPE" lines, and
	// labelOpen[i] what precedes the i-th label value (in name order) of
	// a series line, as the text format writes them; legacy is whether
	// the name and every label name are valid in the legacy (pre-UTF-8)
	// character set, which every text format writes unchanged.
	header    string
	labelOpen []string
	legacy    bool
}

// NewGauge describes a gauge family.
func NewGauge(name, help string, labels ...string) *Desc {
	return newDesc(dto.MetricType_GAUGE, name, help, labels)
}

// NewCounter describes a counter family.
func NewCounter(name, help string, labels ...string) *Desc {
	return newDesc(dto.MetricType_COUNTER, name, help, labels)
}

func newDesc(t dto.MetricType, name, help string, labels []string) *Desc {
	d := &Desc{name: name, help: help, typ: t, labels: labels, sorted: make([]int, len(labels))}
	for i := range d.sorted {
		d.sorted[i] = i
	}
	sort.SliceStable(d.sorted, func(i, j int) bool { return labels[d.sorted[i]] < labels[d.sorted[j]] })
	d.err = prometheus.NewDesc(name, help, labels, nil).Err()
	d.legacy = model.LegacyValidation.IsValidMetricName(name)
	d.header = "# HELP " + name + " " + helpEscaper.Replace(help) + "\n# TYPE " + name + " " + strings.ToLower(t.String()) + "\n"
	d.labelOpen = make([]string, len(labels))
	for i, j := range d.sorted {
		sep := `",`
		if i == 0 {
			sep = "{"
		}
		d.labelOpen[i] = sep + labels[j] + `="`
		d.legacy = d.legacy && model.LegacyValidation.IsValidLabelName(labels[j])
	}
	return d
}

// helpEscaper escapes a help text as the text format does.
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// Name is the family's metric name.
func (d *Desc) Name() string { return d.name }

// series is one sample: its value and where its label values start in the
// Set's values (as many as its family has labels, in label-name order).
type series struct {
	value  float64
	labels int
}

// family is one metric family being built.
type family struct {
	desc   *Desc
	series []series
}

// Set holds the metrics of one probe. Each sample is a value and an offset
// into one shared slice of label values, which costs a fraction of const
// metrics gathered through prometheus.Registry; AppendText writes the text
// exposition straight from it, and Gather builds client_golang's protobuf
// families for the other formats (see BenchmarkExposition). It keeps the
// registry's rules: names and labels valid by client_golang's checks, label
// values valid UTF-8, one series per label set (a later duplicate is
// dropped), families sorted by name and series by label values. Add is not
// safe for concurrent use; AppendText and Gather are, once adding is done.
type Set struct {
	families map[*Desc]*family
	// familySlab and seriesSlab are where Add takes new families and
	// their first series from, in chunks, instead of one allocation each.
	familySlab []family
	seriesSlab []series
	// values holds every series' label values, each series' in its
	// family's label-name order.
	values []string
	// samples counts the samples added; past maxSamples (when not 0) Add
	// drops them and sets overflowed.
	samples, maxSamples int
	overflowed          bool
	// legacy is whether every family added has legacy names.
	legacy bool

	sortOnce   sync.Once
	sorted     []*family
	gatherOnce sync.Once
	gathered   []*dto.MetricFamily
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{families: make(map[*Desc]*family, 48), values: make([]string, 0, 512), legacy: true}
}

// SetMaxSamples bounds the samples the set takes: once it holds n, Add
// drops samples and Overflowed reports it. 0 lifts the bound.
func (s *Set) SetMaxSamples(n int) { s.maxSamples = n }

// Overflowed reports whether Add dropped a sample for the bound of
// SetMaxSamples.
func (s *Set) Overflowed() bool { return s.overflowed }

// Add records one sample. It drops the sample when d is invalid, when the
// label values do not match d's names in number or are not valid UTF-8,
// or when the set is full (SetMaxSamples). A sample whose series was added
// before is dropped when the set is exposed.
func (s *Set) Add(d *Desc, v float64, labelValues ...string) {
	if d.err != nil || len(labelValues) != len(d.labels) {
		return
	}
	for _, l := range labelValues {
		if !utf8.ValidString(l) {
			return
		}
	}
	if s.maxSamples > 0 && s.samples >= s.maxSamples {
		s.overflowed = true
		return
	}
	s.samples++
	f := s.families[d]
	if f == nil {
		f = s.newFamily(d)
		s.families[d] = f
		s.legacy = s.legacy && d.legacy
	}
	f.series = append(f.series, series{value: v, labels: len(s.values)})
	for _, j := range d.sorted {
		s.values = append(s.values, labelValues[j])
	}
}

// labelsOf returns sr's label values in f's label-name order.
func (s *Set) labelsOf(f *family, sr series) []string {
	return s.values[sr.labels : sr.labels+len(f.desc.labels)]
}

// Chunk sizes for Set's slabs: a CGNV4-FX4 probe makes about 50 families,
// most of one series, the channel ones of up to 32 (those outgrow their
// first series and are moved by append).
const (
	familyChunk       = 32
	firstSeriesPerFam = 8
)

// newFamily returns a new empty family for d, with room for its first
// series, taken from the set's slabs.
func (s *Set) newFamily(d *Desc) *family {
	if len(s.familySlab) == cap(s.familySlab) {
		s.familySlab = make([]family, 0, familyChunk)
	}
	if cap(s.seriesSlab)-len(s.seriesSlab) < firstSeriesPerFam {
		s.seriesSlab = make([]series, 0, familyChunk*firstSeriesPerFam)
	}
	n := len(s.seriesSlab)
	s.seriesSlab = s.seriesSlab[:n+firstSeriesPerFam]
	s.familySlab = append(s.familySlab, family{desc: d, series: s.seriesSlab[n : n : n+firstSeriesPerFam]})
	return &s.familySlab[len(s.familySlab)-1]
}

// sortedFamilies returns the families sorted by name, each one's series
// sorted by label values with repeated label sets dropped; it sorts once.
// Families whose series carry the same label values in the same order (a
// channel's power, SNR and frequency) are put in order by the permutation
// found for the first of them, so a probe sorts each set of channels once.
func (s *Set) sortedFamilies() []*family {
	s.sortOnce.Do(func() {
		fams := make([]*family, 0, len(s.families))
		for _, f := range s.families {
			fams = append(fams, f)
		}
		slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.desc.name, b.desc.name) })
		var done []sortedSeries
	families:
		for _, f := range fams {
			if len(f.series) < 2 {
				continue // in order; and sameLabels shares no order of one
			}
			for _, d := range done {
				if s.sameLabels(d.family, f) {
					if d.order != nil {
						f.series = reorder(f.series, d.order)
					}
					continue families
				}
			}
			// sortSeries leaves the slice Add filled as it was.
			added := &family{desc: f.desc, series: f.series}
			done = append(done, sortedSeries{family: added, order: s.sortSeries(f)})
		}
		s.sorted = fams
	})
	return s.sorted
}

// sortedSeries is a family's series in the order Add recorded them, and
// order: the indexes of those that remain, in sorted order (nil when that
// is the order Add recorded them in, none dropped).
type sortedSeries struct {
	family *family
	order  []int
}

// sameLabels reports whether a and b have as many labels and series, and
// equal label values series by series.
func (s *Set) sameLabels(a, b *family) bool {
	if len(a.desc.labels) != len(b.desc.labels) || len(a.series) != len(b.series) || len(a.series) < 2 {
		return false
	}
	for i := range a.series {
		if !slices.Equal(s.labelsOf(a, a.series[i]), s.labelsOf(b, b.series[i])) {
			return false
		}
	}
	return true
}

// sortSeries sorts f's series by label values, dropping a repeated label
// set after its first sample (a firmware listing one channel twice), and
// returns the original index of each series kept, in the new order; nil
// when the series were in order already, without repeats.
func (s *Set) sortSeries(f *family) []int {
	cmp := func(i, j int) int { return slices.Compare(s.labelsOf(f, f.series[i]), s.labelsOf(f, f.series[j])) }
	inOrder := true
	for i := 1; i < len(f.series) && inOrder; i++ {
		inOrder = cmp(i-1, i) < 0
	}
	if inOrder {
		return nil
	}
	order := make([]int, len(f.series))
	for i := range order {
		order[i] = i
	}
	// A stable sort keeps the first of repeated series first.
	slices.SortStableFunc(order, cmp)
	order = slices.CompactFunc(order, func(i, j int) bool { return cmp(i, j) == 0 })
	f.series = reorder(f.series, order)
	return order
}

// reorder returns the series at order's indexes, in order.
func reorder(all []series, order []int) []series {
	out := make([]series, len(order))
	for k, i := range order {
		out[k] = all[i]
	}
	return out
}

// AppendText appends the set's text exposition (the Prometheus text format,
// version 0.0.4 and 1.0.0 alike) to b. It reports false, appending
// nothing, when a family's name or label names fall outside the legacy
// character set: those need the escaping the negotiated format asks for,
// which expfmt applies (use Gather).
func (s *Set) AppendText(b []byte) ([]byte, bool) {
	if !s.legacy {
		return b, false
	}
	for _, f := range s.sortedFamilies() {
		d := f.desc
		b = append(b, d.header...)
		for _, sr := range f.series {
			b = append(b, d.name...)
			for i, v := range s.labelsOf(f, sr) {
				b = append(b, d.labelOpen[i]...)
				b = appendLabelValue(b, v)
			}
			if len(d.labels) > 0 {
				b = append(b, `"}`...)
			}
			b = append(b, ' ')
			b = appendFloat(b, sr.value)
			b = append(b, '\n')
		}
	}
	return b, true
}

// appendLabelValue appends v escaped as the text format escapes a label
// value: backslash, double quote and line feed.
func appendLabelValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat appends f as the text format writes a sample value.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case f == -1:
		return append(b, "-1"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	case f > -1e6 && f < 1e6 && f == math.Trunc(f):
		// The shortest 'g' form of an integer below 1e6 is its digits
		// (-0 is written "0" above, as expfmt writes it).
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// Gather returns the families, sorted by name, their series sorted by
// label values. It implements prometheus.Gatherer; the families are built
// once and must not be modified.
func (s *Set) Gather() ([]*dto.MetricFamily, error) {
	s.gatherOnce.Do(func() {
		fams := s.sortedFamilies()
		s.gathered = make([]*dto.MetricFamily, len(fams))
		for i, f := range fams {
			s.gathered[i] = s.protoFamily(f)
		}
	})
	return slices.Clone(s.gathered), nil
}

// protoFamily builds f as client_golang's protobuf family.
func (s *Set) protoFamily(f *family) *dto.MetricFamily {
	d := f.desc
	mf := &dto.MetricFamily{Name: &d.name, Help: &d.help, Type: &d.typ, Metric: make([]*dto.Metric, len(f.series))}
	names := make([]string, len(d.labels))
	for i, j := range d.sorted {
		names[i] = d.labels[j]
	}
	for i, sr := range f.series {
		m := &dto.Metric{}
		value := sr.value
		if d.typ == dto.MetricType_COUNTER {
			m.Counter = &dto.Counter{Value: &value}
		} else {
			m.Gauge = &dto.Gauge{Value: &value}
		}
		values := s.labelsOf(f, sr)
		if len(values) > 0 {
			m.Label = make([]*dto.LabelPair, len(values))
			for k := range values {
				m.Label[k] = &dto.LabelPair{Name: &names[k], Value: &values[k]}
			}
		}
		mf.Metric[i] = m
	}
	return mf
}
