package probe

import (
	"fmt"
	"strings"
	"sync"
	"time"
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

type traceEvent struct {
	at     time.Duration
	format string
	args   []any
}

// Addf appends a line with the time since the probe started.
func (t *Trace) Addf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		t.start = time.Now()
	}
	t.events = append(t.events, traceEvent{at: time.Since(t.start), format: format, args: args})
}

// String returns the trace, one line per event.
func (t *Trace) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, e := range t.events {
		fmt.Fprintf(&b, "%8.3fs  ", e.at.Seconds())
		fmt.Fprintf(&b, e.format, e.args...)
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
