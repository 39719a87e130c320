package eventlog

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// fixtureLog reads one of the simulator's REST CM/Log answers.
func fixtureLog(t *testing.T, name string) []Entry {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "modemsim", "restfixtures", "CODA-4680", "CM", name))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		LogList json.RawMessage `json:"Log_List"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	log, err := ParseRows(env.LogList, time.UTC)
	if err != nil || log.Dropped != 0 {
		t.Fatalf("%s: %v, %d dropped", name, err, log.Dropped)
	}
	return log.Entries
}

func counts(s Snapshot) map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range s.Events {
		out[c.Priority.String()+"/"+c.EventID] = c.N
	}
	return out
}

func sameCounts(t *testing.T, step string, got, want map[string]uint64) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: counts %v, want %v", step, got, want)
	}
}

// TestMemoryFixtureWrapAndClear feeds the simulator's three logs of one
// modem over seven probes: the full log, the buffer after it wrapped (four
// rows fell off, four arrived), then after the modem cleared it. Every
// event after the baseline is counted exactly once; the baseline's kinds
// are counters at 0.
func TestMemoryFixtureWrapAndClear(t *testing.T) {
	full, wrapped, cleared := fixtureLog(t, "Log.json"), fixtureLog(t, "Log.wrapped.json"), fixtureLog(t, "Log.cleared.json")
	var m Memory
	if s := m.Snapshot(); s.Observed {
		t.Fatal("a fresh memory claims an observation")
	}
	steps := []struct {
		name   string
		log    []Entry
		newN   int
		counts map[string]uint64
		t3, t4 uint64
	}{
		{"baseline", full, 0, map[string]uint64{}, 0, 0},
		{"same log again", full, 0, map[string]uint64{}, 0, 0},
		{"wrapped", wrapped, 4, map[string]uint64{"critical/82000200": 1, "critical/82000400": 1, "warning/84020200": 1, "notice/68010600": 1}, 1, 1},
		{"wrapped again", wrapped, 0, map[string]uint64{"critical/82000200": 1, "critical/82000400": 1, "warning/84020200": 1, "notice/68010600": 1}, 1, 1},
		{"cleared", cleared, 2, map[string]uint64{"critical/82000200": 2, "critical/82000400": 1, "warning/84020200": 1, "notice/68010600": 1, "notice/74010100": 1}, 2, 1},
		{"cleared again", cleared, 0, map[string]uint64{"critical/82000200": 2, "critical/82000400": 1, "warning/84020200": 1, "notice/68010600": 1, "notice/74010100": 1}, 2, 1},
		{"empty", nil, 0, map[string]uint64{"critical/82000200": 2, "critical/82000400": 1, "warning/84020200": 1, "notice/68010600": 1, "notice/74010100": 1}, 2, 1},
	}
	for i, st := range steps {
		d := m.Observe(st.log)
		if d.Baseline != (i == 0) {
			t.Errorf("%s: baseline %v", st.name, d.Baseline)
		}
		n := 0
		for _, c := range d.New {
			n += int(c.N)
		}
		if n != st.newN {
			t.Errorf("%s: %d new events, want %d", st.name, n, st.newN)
		}
		s := m.Snapshot()
		// The baseline's kinds start at 0 and stay: a recurrence is an
		// increase from 0, which Prometheus sees.
		want := map[string]uint64{"critical/82000200": 0, "critical/82000300": 0, "critical/82000400": 0, "critical/84000500": 0,
			"error/68010300": 0, "notice/68010600": 0, "notice/74010100": 0, "warning/84020200": 0}
		for k, v := range st.counts {
			want[k] = v
		}
		sameCounts(t, st.name, counts(s), want)
		if s.T3 != st.t3 || s.T4 != st.t4 {
			t.Errorf("%s: T3 %d T4 %d, want %d and %d", st.name, s.T3, s.T4, st.t3, st.t4)
		}
	}
	// The entries gauge is the last log; the timestamps remember every log.
	s := m.Snapshot()
	if s.Entries != [NumPriorities]int{} {
		t.Errorf("entries after an empty log: %v", s.Entries)
	}
	m.Observe(full)
	s = m.Snapshot()
	if s.Entries[Critical] != 6 || s.Entries[Error] != 1 || s.Entries[Warning] != 1 || s.Entries[Notice] != 2 {
		t.Errorf("entries by priority %v", s.Entries)
	}
	if got := s.LastEvent[Critical].Format(time.RFC3339); got != "2020-11-19T10:00:01Z" {
		t.Errorf("last critical event %s, want the cleared log's T3", got)
	}
	if !s.LastEvent[Debug].IsZero() {
		t.Error("a priority never seen has a last-event time")
	}
}

// modem simulates a DOCSIS event buffer of a given capacity: events arrive,
// the oldest fall off, the user sometimes clears it. positional numbers rows
// 1..n by position (every index shifts on a wrap); otherwise the index only
// grows until a clear (DOCSIS docsDevEvIndex).
type modem struct {
	capacity   int
	positional bool
	next       int64
	clock      time.Time
	rows       []Entry
}

var simIDs = []struct {
	id string
	p  Priority
}{
	{"82000200", Critical}, {"82000300", Critical}, {"82000400", Critical}, {"84000500", Critical},
	{"84020200", Warning}, {"68010300", Error}, {"68010600", Notice}, {"74010100", Notice}, {"", Information},
}

func (m *modem) event(r *rand.Rand) Entry {
	k := simIDs[r.IntN(len(simIDs))]
	m.next++
	m.clock = m.clock.Add(time.Duration(1+r.IntN(600)) * time.Second)
	e := Entry{Index: m.next, Time: m.clock, EventID: k.id, Priority: k.p}
	m.rows = append(m.rows, e)
	if len(m.rows) > m.capacity {
		m.rows = m.rows[1:]
	}
	return e
}

func (m *modem) clear() { m.rows, m.next = nil, 0 }

func (m *modem) page() []Entry {
	out := append([]Entry(nil), m.rows...)
	if m.positional {
		for i := range out {
			out[i].Index = int64(i + 1)
		}
	}
	return out
}

// TestMemoryCountsEachEventExactlyOnce runs a simulated modem over many
// probes with both index schemes: between probes up to a full buffer of
// events arrive (so the buffer wraps), and now and then the modem clears
// its log. The counters must equal the events that arrived after the
// baseline, by kind, and the T3/T4 counters the ranging timeouts among them.
func TestMemoryCountsEachEventExactlyOnce(t *testing.T) {
	for _, positional := range []bool{false, true} {
		t.Run("positional="+strconv.FormatBool(positional), func(t *testing.T) {
			r := rand.New(rand.NewPCG(13, uint64(len(simIDs))))
			md := &modem{capacity: 20, positional: positional, clock: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
			for range 15 {
				md.event(r)
			}
			var mem Memory
			mem.Observe(md.page()) // baseline
			want := map[string]uint64{}
			var t3, t4 uint64
			wraps, clears := 0, 0
			for probe := range 400 {
				if r.IntN(25) == 0 {
					md.clear()
					clears++
				}
				n := r.IntN(md.capacity + 1)
				if len(md.rows)+n > md.capacity {
					wraps++
				}
				for range n {
					e := md.event(r)
					want[e.Priority.String()+"/"+labelID(e.EventID)]++
					switch TimeoutOf(e.EventID) {
					case T3:
						t3++
					case T4:
						t4++
					}
				}
				mem.Observe(md.page())
				if probe%7 == 0 {
					mem.Observe(md.page()) // a second probe sees the same log
				}
			}
			s := mem.Snapshot()
			sameCounts(t, "after 400 probes", counts(s), want)
			if s.T3 != t3 || s.T4 != t4 {
				t.Errorf("T3 %d T4 %d, want %d and %d", s.T3, s.T4, t3, t4)
			}
			if wraps < 50 || clears < 5 || t3 == 0 || t4 == 0 {
				t.Fatalf("the simulation exercised too little: %d wraps, %d clears, %d T3, %d T4", wraps, clears, t3, t4)
			}
		})
	}
}

func TestMemoryDuplicateRowsCountOnce(t *testing.T) {
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var m Memory
	m.Observe(nil)
	row := Entry{Index: 1, Time: at, EventID: "82000400", Priority: Critical, Text: "T4"}
	d := m.Observe([]Entry{row, row, row})
	if len(d.New) != 1 || d.New[0].N != 1 || d.T4 != 1 {
		t.Errorf("a row listed three times: %+v", d)
	}
	if s := m.Snapshot(); s.Entries[Critical] != 1 {
		t.Errorf("entries %v: a repeated row is one entry", s.Entries)
	}
}

// TestMemoryKindsAreBounded feeds more distinct event IDs than MaxKinds: the
// overflow is counted under "other", nothing is lost, and the counters stay
// bounded whatever the modem logs.
func TestMemoryKindsAreBounded(t *testing.T) {
	var m Memory
	m.Observe(nil)
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	total := 0
	for round := range 5 {
		var rows []Entry
		for i := range 100 {
			id := strconv.Itoa(70000000 + round*1000 + i)
			rows = append(rows, Entry{Index: int64(round*100 + i), Time: at.Add(time.Duration(round*100+i) * time.Second), EventID: id, Priority: Priority(1 + i%8)})
		}
		total += len(rows)
		m.Observe(rows)
	}
	s := m.Snapshot()
	if len(s.Events) > MaxKinds+NumPriorities {
		t.Fatalf("%d counters kept, bound %d", len(s.Events), MaxKinds+NumPriorities)
	}
	var sum uint64
	other := false
	for _, c := range s.Events {
		sum += c.N
		other = other || c.EventID == OtherEventID
	}
	if sum != uint64(total) || !other {
		t.Errorf("counted %d of %d events, other kind present %v", sum, total, other)
	}
}

func TestSnapshotSharesNothing(t *testing.T) {
	var m Memory
	m.Observe(nil)
	m.Observe([]Entry{{Index: 1, EventID: "82000200", Priority: Critical}})
	s := m.Snapshot()
	s.Events[0].N = 99
	if m.Snapshot().Events[0].N != 1 {
		t.Error("changing a snapshot changed the memory")
	}
}

// TestMemoryIndexTellsRepeatsApart: with DOCSIS's growing index, an event
// that repeats an evicted one's time and ID (a modem rebooting before its
// clock is set logs 1970 times again) is a new event.
func TestMemoryIndexTellsRepeatsApart(t *testing.T) {
	epoch := time.Date(1970, 1, 1, 0, 0, 17, 0, time.UTC)
	row := func(i int64, at time.Time, id string) Entry {
		return Entry{Index: i, Time: at, EventID: id, Priority: Critical}
	}
	var m Memory
	later := epoch.AddDate(50, 0, 0)
	m.Observe([]Entry{row(11, epoch, "82000200"), row(12, later, "68010600")})
	d := m.Observe([]Entry{row(12, later, "68010600"), row(13, epoch, "82000200")})
	if d.T3 != 1 {
		t.Errorf("a T3 at index 13 repeating the evicted index 11's time and ID: %d counted, want 1", d.T3)
	}
}

// BenchmarkObserve: one probe's bookkeeping for a typical log of a hundred
// rows, four of them new.
func BenchmarkObserve(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	md := &modem{capacity: 100, clock: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
	for range 100 {
		md.event(r)
	}
	var m Memory
	m.Observe(md.page())
	pages := make([][]Entry, 64)
	for i := range pages {
		for range 4 {
			md.event(r)
		}
		pages[i] = md.page()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		m.Observe(pages[i%len(pages)])
	}
}

// TestMemoryZoneChangeIsNoNewEvents: the modem's times are wall-clock
// readings; reading them in another zone (the target's timezone changed)
// does not make them new events.
func TestMemoryZoneChangeIsNoNewEvents(t *testing.T) {
	var m Memory
	utc := fixtureLog(t, "Log.json")
	m.Observe(utc)
	zoned := make([]Entry, len(utc))
	loc := time.FixedZone("X", 7*3600)
	for i, e := range utc {
		e.Time = time.Date(e.Time.Year(), e.Time.Month(), e.Time.Day(), e.Time.Hour(), e.Time.Minute(), e.Time.Second(), 0, loc)
		zoned[i] = e
	}
	if d := m.Observe(zoned); len(d.New) != 0 {
		t.Errorf("the same log read in another zone: %+v new", d.New)
	}
}
