package eventlog

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// Label values of Kind.EventID besides decimal IDs.
const (
	// UnknownEventID stands for rows without a valid event ID.
	UnknownEventID = "unknown"
	// OtherEventID collects the events of kinds beyond MaxKinds.
	OtherEventID = "other"
)

// MaxKinds bounds the distinct (priority, event ID) counters one Memory
// keeps. Later kinds are counted under (priority, OtherEventID), so a
// Memory holds at most MaxKinds+NumPriorities counters whatever the modem
// logs.
const MaxKinds = 64

// Kind is what event counters are kept by.
type Kind struct {
	Priority Priority
	// EventID is a decimal DOCSIS event ID, UnknownEventID or OtherEventID.
	EventID string
}

// Count is a number of events of one kind.
type Count struct {
	Kind
	N uint64
}

// key identifies a log row: its index, time and event ID. Two rows with the
// same key are the same event.
type key struct {
	index int64
	at    int64  // the wall-clock reading in seconds (log times have no finer resolution)
	id    uint64 // the event ID; 1<<32 when the row had none
}

func keyOf(e Entry) key {
	// The modem writes its wall clock; the zone it is read in is the
	// target's configuration, so a changed timezone must not make every
	// row look new.
	t := e.Time
	k := key{index: e.Index, at: time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC).Unix(), id: 1 << 32}
	if n, err := strconv.ParseUint(e.EventID, 10, 32); err == nil {
		k.id = n
	}
	return k
}

func compareKeys(a, b key) int {
	if c := cmp.Compare(a.index, b.index); c != 0 {
		return c
	}
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// Memory counts one modem's events across probes, each exactly once. It
// belongs in the per-modem state and is forgotten with it: it holds no
// pointers outside itself and starts no goroutines, and its zero value is
// ready to use. It is not safe for concurrent use (the modem's state lock
// guards it) and must not be copied after first use.
//
// Semantics. The first log a Memory observes is its baseline: those events
// happened before the exporter watched the modem, so they are not counted
// (they show in the entries gauge and the last-event timestamps); their
// kinds' counters start at 0. After
// that, every row whose (index, time, ID) was not in the previous log is a
// new event and is counted once (see fresh for firmware that renumbers its
// rows). The modem's buffer only ever drops its
// oldest rows or all of them, and a dropped row never returns, so
// remembering the previous log's keys is enough:
//   - when the buffer wraps, rows fall off the old end and new ones arrive
//     with recycled indexes but new times: the new rows are counted;
//   - when the modem clears its log, the next log is short or empty and
//     every row in it is new.
//
// More events than the buffer holds between two probes cannot all be seen;
// the counters then count those that were. A modem that repeats a key (a
// reboot before the clock is set can log the same event ID at the same
// index and 1970 time again) is counted once if both rows are in
// consecutive logs.
//
// Size bound: the previous log's keys (24 bytes each, at most MaxEntries
// because ParseRows reads no more) and at most MaxKinds+NumPriorities
// counters, so well under 30 KiB for a full log and about 3 KiB for a
// typical one of a hundred rows.
type Memory struct {
	observed bool
	// seen holds the previous log's keys, sorted and unique.
	seen []key
	// counts are the cumulative counters, sorted by kind.
	counts []Count
	// positional: the previous log numbered its rows 1..n by position.
	positional bool
	named      int // counts under a decimal or unknown ID (≤ MaxKinds)
	t3, t4     uint64
	current    [NumPriorities]int
	last       [NumPriorities]time.Time
}

// Delta is what one Observe found.
type Delta struct {
	// Baseline is set on the first observation, which counts nothing.
	Baseline bool
	// New are the events first seen in this log, by kind.
	New []Count
	// T3 and T4 are the ranging timeouts among them.
	T3, T4 int
}

// Observe takes the rows of the log as the modem shows it now and counts
// the events not seen before (none on the first observation).
func (m *Memory) Observe(entries []Entry) Delta {
	type keyed struct {
		k key
		e *Entry
	}
	rows := make([]keyed, len(entries))
	for i := range entries {
		rows[i] = keyed{keyOf(entries[i]), &entries[i]}
	}
	// Sort by key, keeping page order among duplicates; keep the first.
	slices.SortStableFunc(rows, func(a, b keyed) int { return compareKeys(a.k, b.k) })
	rows = slices.CompactFunc(rows, func(a, b keyed) bool { return compareKeys(a.k, b.k) == 0 })

	d := Delta{Baseline: !m.observed}
	m.current = [NumPriorities]int{}
	seen := make([]key, len(rows))
	for i, r := range rows {
		seen[i] = r.k
		p := r.e.Priority
		if int(p) >= NumPriorities {
			p = PriorityUnknown
		}
		m.current[p]++
		if t := r.e.Time; !t.IsZero() && t.After(m.last[p]) {
			m.last[p] = t
		}
	}
	positional := numberedByPosition(entries)
	if d.Baseline {
		// The kinds the baseline holds start at 0, so that their next event
		// is an increase Prometheus sees (a series born at 1 is not).
		for _, r := range rows {
			p := r.e.Priority
			if int(p) >= NumPriorities {
				p = PriorityUnknown
			}
			m.add(Count{Kind{p, labelID(r.e.EventID)}, 0})
		}
	} else {
		for _, r := range m.fresh(seen, positional && m.positional) {
			e := rows[r].e
			p := e.Priority
			if int(p) >= NumPriorities {
				p = PriorityUnknown
			}
			d.New = addCount(d.New, Kind{p, labelID(e.EventID)}, 1)
			switch TimeoutOf(e.EventID) {
			case T3:
				d.T3++
			case T4:
				d.T4++
			}
		}
		for _, c := range d.New {
			m.add(c)
		}
		m.t3 += uint64(d.T3)
		m.t4 += uint64(d.T4)
	}
	m.seen = seen
	m.positional = positional
	m.observed = true
	return d
}

// numberedByPosition reports whether the rows' indexes are their positions,
// 1..n from either end.
func numberedByPosition(entries []Entry) bool {
	up, down := true, true
	for i, e := range entries {
		up = up && e.Index == int64(i+1)
		down = down && e.Index == int64(len(entries)-i)
	}
	return up || down
}

// fresh returns the positions, in cur (sorted, unique keys), of the rows
// that were not in the previous log. A row was there if its exact key was:
// DOCSIS's event index only grows until the log is reset (RFC 4639,
// docsDevEvIndex), so a new event has a new key even when its time and ID
// repeat an old one's (a reboot before the clock is set logs 1970 times).
// When both logs number their rows by position, every index shifts as the
// buffer wraps, so byPosition also accepts a previous row that no current
// row matched exactly but that had the same time and ID.
func (m *Memory) fresh(cur []key, byPosition bool) []int {
	matched := make([]bool, len(m.seen))
	var unmatched []int
	for i, k := range cur {
		if j, found := slices.BinarySearchFunc(m.seen, k, compareKeys); found {
			matched[j] = true
			continue
		}
		unmatched = append(unmatched, i)
	}
	if len(unmatched) == 0 || !byPosition {
		return unmatched
	}
	type timeID struct {
		at int64
		id uint64
	}
	left := map[timeID]int{}
	for j, k := range m.seen {
		if !matched[j] {
			left[timeID{k.at, k.id}]++
		}
	}
	out := unmatched[:0]
	for _, i := range unmatched {
		ti := timeID{cur[i].at, cur[i].id}
		if left[ti] > 0 {
			left[ti]--
			continue
		}
		out = append(out, i)
	}
	return out
}

func labelID(id string) string {
	if id == "" {
		return UnknownEventID
	}
	return id
}

// add adds c to the cumulative counters, under OtherEventID once MaxKinds
// kinds are held.
func (m *Memory) add(c Count) {
	if i, found := slices.BinarySearchFunc(m.counts, c.Kind, findKind); found {
		m.counts[i].N += c.N
		return
	}
	if m.named >= MaxKinds {
		c.EventID = OtherEventID
		m.counts = addCount(m.counts, c.Kind, c.N)
		return
	}
	m.named++
	m.counts = addCount(m.counts, c.Kind, c.N)
}

func findKind(c Count, k Kind) int { return compareKind(c.Kind, k) }

func compareKind(a, b Kind) int {
	if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
		return c
	}
	return cmp.Compare(a.EventID, b.EventID)
}

// addCount adds n events of kind k to the sorted counts.
func addCount(counts []Count, k Kind, n uint64) []Count {
	i, found := slices.BinarySearchFunc(counts, k, findKind)
	if found {
		counts[i].N += n
		return counts
	}
	return slices.Insert(counts, i, Count{k, n})
}

// Snapshot is what the collector exports from a Memory.
type Snapshot struct {
	// Observed is false until the Memory has seen a log: then nothing is
	// exported.
	Observed bool
	// Entries are the rows of the last log, by priority.
	Entries [NumPriorities]int
	// Events are the cumulative counts of new events, sorted by kind.
	Events []Count
	// T3 and T4 count the ranging timeouts among the new events.
	T3, T4 uint64
	// LastEvent is the time of the newest event of each priority seen in
	// any log (baseline included); zero when none had a readable time.
	LastEvent [NumPriorities]time.Time
}

// Snapshot returns the Memory's counters; the result shares nothing with it.
func (m *Memory) Snapshot() Snapshot {
	return Snapshot{
		Observed: m.observed, Entries: m.current, Events: slices.Clone(m.counts),
		T3: m.t3, T4: m.t4, LastEvent: m.last,
	}
}
