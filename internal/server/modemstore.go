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
// Each entry is a rendered view capped at maxModemRows rows per table and
// maxModemText bytes per string: tens of KB for a real modem, at most
// about 300 KB for a hostile one, so the store stays under about 40 MB.
const maxModemPages = 128

// modemEntry is what the /modem page knows of one modem.
type modemEntry struct {
	target string
	// last is the modem's most recent probe, successful or not.
	last probeSummary
	// view is built from the most recent probe that read a page.
	view *modemView
	// counters are that probe's codeword counters, by row key, and when it
	// read them: the next probe's rates are computed against them.
	counters map[string]codewords
	readAt   time.Time
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
// a modem already known; callers that shared one run record it once.
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
		e.view, e.counters = buildModemView(res.Data, e.counters, e.readAt, res.Started)
		e.readAt = res.Started
	}
	if ok {
		m.order.MoveToFront(el)
		return
	}
	m.byKey[target] = m.order.PushFront(e)
	for m.order.Len() > m.limit {
		old := m.order.Back()
		m.order.Remove(old)
		delete(m.byKey, old.Value.(*modemEntry).target)
		m.evicted.Inc()
	}
}

// get returns a copy of target's entry.
func (m *modemStore) get(target string) (modemEntry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.byKey[target]
	if !ok {
		return modemEntry{}, false
	}
	return *el.Value.(*modemEntry), true
}

// len is the number of modems remembered.
func (m *modemStore) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}
