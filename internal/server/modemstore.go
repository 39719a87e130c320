package server

import (
	"container/list"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/probe"
)

// maxModemPages is how many modems the /modem page remembers. Only a probe
// that read a page adds a modem, so a loop of probes of made-up targets
// cannot push real ones out; past the cap the least recently probed modem
// is forgotten (hitron_exporter_modem_pages_evicted_total counts them).
// Each entry keeps its last read bounded by keepData (maxModemRows rows per
// table, strings a few bytes past what the view shows), the codeword rows
// of the read before (the same rows), and the view built from them once
// the page is asked for, itself capped at maxModemRows rows per table and
// maxModemText bytes per string: tens of KB for a real modem, and for a
// hostile one at most what TestModemStoreBoundsAHostileModem measures
// (under 512 KB), plus the pages its kept strings share (the decoder cuts
// a small page's values from one copy of it: at most 16 KiB a page, see
// hitron's maxSharedPage), so the store stays under about 100 MB.
const maxModemPages = 128

// modemEntry is what the /modem page knows of one modem.
type modemEntry struct {
	target string
	// last is the modem's most recent probe, successful or not.
	last probeSummary
	// read is the most recent probe that read a page, bounded, and readAt
	// when that probe started.
	read   keptData
	readAt time.Time
	// prev are the codeword rows of the read before it: the view's rates
	// are computed against them.
	prev codewordRows
	// view is built from read and prev when the page is first asked for
	// after the read; nil until then.
	view *modemView
}

// codewordRows are the rows of one read that carry codeword counters, and
// when the read's probe started; ok is false when there was no such read.
type codewordRows struct {
	ok         bool
	at         time.Time
	downstream []hitron.DownstreamChannel
	ofdm       []hitron.OFDMReceiver
}

// probeSummary is the outcome of one probe, without its data.
type probeSummary struct {
	Started  time.Time
	Success  bool
	Reason   string
	Duration time.Duration
}

// codewords are one channel's codeword counters.
type codewords struct{ corrected, uncorrectable hitron.Value }

// modemStore keeps the last probe of each recently probed modem, least
// recently probed first out. It is safe for concurrent use.
type modemStore struct {
	mu      sync.Mutex
	limit   int
	order   *list.List // of *modemEntry, most recent at the front
	byKey   map[string]*list.Element
	evicted prometheus.Counter
}

func newModemStore(limit int, reg prometheus.Registerer) *modemStore {
	m := &modemStore{limit: limit, order: list.New(), byKey: map[string]*list.Element{}}
	m.evicted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hitron_exporter_modem_pages_evicted_total",
		Help: "Modems the /modem page forgot because more than its cap of modems were probed since (least recently probed first).",
	})
	if reg != nil {
		reg.MustRegister(m.evicted)
	}
	return m
}

// record notes a probe of target. A probe that did not log in only updates
// a modem already known; callers that shared one run record it once. It
// keeps the probe's data, bounded, and leaves the view to page.
func (m *modemStore) record(target string, res *probe.Result) {
	if res == nil {
		return
	}
	sum := probeSummary{Started: res.Started, Success: res.Success, Reason: res.Reason, Duration: res.Duration}
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.byKey[target]
	var e *modemEntry
	if ok {
		e = el.Value.(*modemEntry)
		if !res.Started.After(e.last.Started) {
			return // the same run (a shared result), or an older one finishing late
		}
	} else {
		if res.Data == nil {
			return
		}
		e = &modemEntry{target: target}
	}
	e.last = sum
	if res.Data != nil {
		if ok {
			e.prev = codewordRows{ok: true, at: e.readAt, downstream: e.read.data.Downstream, ofdm: e.read.data.OFDM}
		}
		e.read, e.readAt, e.view = keepData(res.Data), res.Started, nil
	}
	if ok {
		m.order.MoveToFront(el)
		return
	}
	m.add(e)
}

// add puts a new entry in front, forgetting the least recent past the cap.
func (m *modemStore) add(e *modemEntry) {
	m.byKey[e.target] = m.order.PushFront(e)
	for m.order.Len() > m.limit {
		old := m.order.Back()
		m.order.Remove(old)
		delete(m.byKey, old.Value.(*modemEntry).target)
		m.evicted.Inc()
	}
}

// page returns target's last probe and the view of its last read, built
// now if no page was asked for since that read, and kept until the next.
func (m *modemStore) page(target string) (last probeSummary, view *modemView, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.byKey[target]
	if !ok {
		return probeSummary{}, nil, false
	}
	e := el.Value.(*modemEntry)
	if e.view == nil {
		e.view = e.buildView()
	}
	return e.last, e.view, true
}

// buildView formats the entry's last read, with rates against prev.
func (e *modemEntry) buildView() *modemView {
	var prev map[string]codewords
	if e.prev.ok {
		prev = readCounters(e.prev.downstream, e.prev.ofdm)
	}
	v := buildModemView(&e.read.data, prev, e.prev.at, e.readAt)
	v.Truncated = v.Truncated || e.read.truncated
	return v
}

// len is the number of modems remembered.
func (m *modemStore) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}
