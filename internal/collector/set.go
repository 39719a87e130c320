package collector

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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
	return d
}

// Name is the family's metric name.
func (d *Desc) Name() string { return d.name }

// inlineLabels is how many labels a series holds without a further
// allocation; most families have at most three.
const inlineLabels = 3

// gaugeSeries and counterSeries are one sample each, allocated as one
// object; their label pairs are shared within the Set.
type gaugeSeries struct {
	metric dto.Metric
	gauge  dto.Gauge
	value  float64
	labels [inlineLabels]*dto.LabelPair
}

type counterSeries struct {
	metric  dto.Metric
	counter dto.Counter
	value   float64
	labels  [inlineLabels]*dto.LabelPair
}

// labelPair is a label pair with the strings it points to.
type labelPair struct {
	pair        dto.LabelPair
	name, value string
}

// family is one metric family being built.
type family struct {
	mf   dto.MetricFamily
	name string
	help string
	typ  dto.MetricType
}

// Set holds the metrics of one probe and gathers them without a registry:
// it builds the exposition's protobuf families directly, which costs a
// fraction of const metrics gathered through prometheus.Registry (see
// BenchmarkExposition). It keeps the registry's rules: names and labels
// valid by client_golang's checks, label values valid UTF-8, one series per
// label set (a later duplicate is dropped), families sorted by name and
// series by label values. Add is not safe for concurrent use; Gather is,
// once adding is done.
type Set struct {
	families map[*Desc]*family
	// pairs shares label pairs among series: a channel's port and channel
	// labels recur in every family of its metrics.
	pairs map[[2]string]*dto.LabelPair
	// samples counts the samples added; past maxSamples (when not 0) Add
	// drops them and sets overflowed.
	samples, maxSamples int
	overflowed          bool

	once     sync.Once
	gathered []*dto.MetricFamily
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{families: make(map[*Desc]*family, 48), pairs: make(map[[2]string]*dto.LabelPair, 128)}
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
// before is dropped by Gather.
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
		f = &family{name: d.name, help: d.help, typ: d.typ}
		f.mf.Name, f.mf.Help, f.mf.Type = &f.name, &f.help, &f.typ
		s.families[d] = f
	}
	var m *dto.Metric
	var labels []*dto.LabelPair
	n := len(labelValues)
	if d.typ == dto.MetricType_COUNTER {
		sr := &counterSeries{value: v}
		sr.counter.Value = &sr.value
		sr.metric.Counter = &sr.counter
		m, labels = &sr.metric, sr.labels[:0]
	} else {
		sr := &gaugeSeries{value: v}
		sr.gauge.Value = &sr.value
		sr.metric.Gauge = &sr.gauge
		m, labels = &sr.metric, sr.labels[:0]
	}
	if n > inlineLabels {
		labels = make([]*dto.LabelPair, 0, n)
	}
	for _, j := range d.sorted {
		labels = append(labels, s.pair(d.labels[j], labelValues[j]))
	}
	if n > 0 {
		m.Label = labels
	}
	f.mf.Metric = append(f.mf.Metric, m)
}

// pair returns the Set's label pair name=value, made on first use.
func (s *Set) pair(name, value string) *dto.LabelPair {
	key := [2]string{name, value}
	if p := s.pairs[key]; p != nil {
		return p
	}
	lp := &labelPair{name: name, value: value}
	lp.pair.Name, lp.pair.Value = &lp.name, &lp.value
	s.pairs[key] = &lp.pair
	return &lp.pair
}

// Gather returns the families, sorted by name, their series sorted by
// label values. It implements prometheus.Gatherer; the families are built
// once and must not be modified.
func (s *Set) Gather() ([]*dto.MetricFamily, error) {
	s.once.Do(func() {
		fams := make([]*family, 0, len(s.families))
		for _, f := range s.families {
			fams = append(fams, f)
		}
		slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })
		s.gathered = make([]*dto.MetricFamily, len(fams))
		for i, f := range fams {
			// A stable sort keeps a repeated series (a firmware listing one
			// channel twice) after its first sample, which is kept.
			slices.SortStableFunc(f.mf.Metric, compareLabels)
			f.mf.Metric = slices.CompactFunc(f.mf.Metric, func(a, b *dto.Metric) bool { return compareLabels(a, b) == 0 })
			s.gathered[i] = &f.mf
		}
	})
	return slices.Clone(s.gathered), nil
}

// compareLabels orders series of one family by their label values, label
// by label in name order, as client_golang's registry does.
func compareLabels(a, b *dto.Metric) int {
	for i := range min(len(a.Label), len(b.Label)) {
		if c := cmp.Compare(a.Label[i].GetValue(), b.Label[i].GetValue()); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a.Label), len(b.Label))
}
