package probe

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
)

// Trace is a human-readable log of one probe for &debug=true. Nothing
// secret is ever written to it: credentials print as <secret>, and HTTP
// events carry no bodies or cookies. Lines are formatted only when the
// trace is read, which is rare, so recording one costs next to nothing.
type Trace struct {
	mu     sync.Mutex
	start  time.Time
	events []traceEvent
}

// traceEvent is one line: a format and its arguments (kindFormat), or one
// of the frequent kinds kept as a typed value, so that recording it boxes
// nothing.
type traceEvent struct {
	at     time.Duration
	format string
	args   []any
	kind   traceKind
	http   hitron.TraceEvent // kindHTTP; kindParsed uses Path and Bytes
}

// traceKind tells how a traceEvent without a format is written.
type traceKind uint8

const (
	kindFormat traceKind = iota
	kindHTTP
	kindParsed
	kindSkipped
)

// newTrace is a trace with room for a typical probe's lines (a CGNV4-FX4
// probe writes about 30).
func newTrace() *Trace { return &Trace{events: make([]traceEvent, 0, 32)} }

// Addf appends a line with the time since the probe started.
func (t *Trace) Addf(format string, args ...any) {
	t.add(traceEvent{format: format, args: args})
}

// AddHTTP appends a line for one HTTP exchange (no body, no cookie).
func (t *Trace) AddHTTP(ev hitron.TraceEvent) {
	t.add(traceEvent{kind: kindHTTP, http: ev})
}

// AddSkipped appends "page: skipped, the firmware lacks it (404 earlier)".
func (t *Trace) AddSkipped(page string) {
	t.add(traceEvent{kind: kindSkipped, http: hitron.TraceEvent{Path: page}})
}

// AddParsed appends "page: parsed n bytes".
func (t *Trace) AddParsed(page string, n int) {
	t.add(traceEvent{kind: kindParsed, http: hitron.TraceEvent{Path: page, Bytes: n}})
}

func (t *Trace) add(e traceEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		t.start = time.Now()
	}
	e.at = time.Since(t.start)
	t.events = append(t.events, e)
}

// String returns the trace, one line per event.
func (t *Trace) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, e := range t.events {
		fmt.Fprintf(&b, "%8.3fs  ", e.at.Seconds())
		switch ev := e.http; e.kind {
		case kindHTTP:
			fmt.Fprintf(&b, "HTTP %s %s → %d, %d bytes, %s", ev.Method, ev.Path, ev.Status, ev.Bytes, ev.Duration.Round(time.Microsecond))
			if ev.Err != nil {
				fmt.Fprintf(&b, ", error: %v", ev.Err)
			}
		case kindParsed:
			fmt.Fprintf(&b, "%s: parsed %d bytes", ev.Path, ev.Bytes)
		case kindSkipped:
			fmt.Fprintf(&b, "%s: skipped, the firmware lacks it (404 earlier)", ev.Path)
		default:
			fmt.Fprintf(&b, e.format, e.args...)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Entry is one probe in the history.
type Entry struct {
	ID       uint64
	Target   string
	Profile  string
	Success  bool
	Reason   string
	Started  time.Time
	Duration time.Duration
	Trace    *Trace
}

// History keeps the most recent probes.
type History struct {
	mu      sync.Mutex
	limit   int
	next    uint64
	entries []Entry
}

// NewHistory keeps up to limit probes.
func NewHistory(limit int) *History { return &History{limit: limit} }

// Add records a result.
func (h *History) Add(r *Result) {
	if r == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	e := Entry{ID: h.next, Success: r.Success, Reason: r.Reason, Started: r.Started, Duration: r.Duration, Trace: r.Trace}
	if r.plan != nil {
		e.Target = r.plan.Target.Raw
		if r.plan.Profile != nil {
			e.Profile = r.plan.Profile.Name
		}
	}
	h.entries = append(h.entries, e)
	if len(h.entries) > h.limit {
		h.entries = h.entries[len(h.entries)-h.limit:]
	}
}

// List returns the entries, newest first.
func (h *History) List() []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Entry, len(h.entries))
	for i, e := range h.entries {
		out[len(out)-1-i] = e
	}
	return out
}

// Get returns the entry with id.
func (h *History) Get(id uint64) (Entry, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.entries {
		if e.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}
