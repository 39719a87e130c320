package server

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/probe"
)

// simData probes a simulator serving cfg's data set once, through the
// exporter's prober, and returns what the probe read.
func simData(tb testing.TB, cfg modemsim.Config) *hitron.Data {
	tb.Helper()
	e := newEnv(tb, cfg, pinnedConfig)
	snap := e.srv.acquireSnapshot()
	defer snap.Release()
	plan, err := probe.NewPlan(snap, probe.Request{Target: e.sim.Addr()})
	if err != nil {
		tb.Fatal(err)
	}
	res := e.srv.prober.Probe(context.Background(), plan)
	if !res.Success || res.Data == nil {
		tb.Fatalf("probe of the simulator: %s %v", res.Reason, res.Err)
	}
	return res.Data
}

// BenchmarkModemStoreRecord is what noting one probe of a known modem for
// its /modem page costs the probe: the CGNV4-FX4 data set (the
// simulator's default), one modem probed again and again.
func BenchmarkModemStoreRecord(b *testing.B) { benchModemStore(b, false) }

// BenchmarkModemStorePage is what the first /modem page after a probe
// costs: the record and building the view from what it kept (the whole of
// what every probe paid before the view was built lazily).
func BenchmarkModemStorePage(b *testing.B) { benchModemStore(b, true) }

// benchModemStore records a probe of the CGNV4-FX4 data set again and
// again, and asks for the page after each when page is true.
func benchModemStore(b *testing.B, page bool) {
	d := simData(b, modemsim.Config{})
	m := newModemStore(maxModemPages, nil)
	res := &probe.Result{Success: true, Started: time.Now(), Data: d}
	b.ReportAllocs()
	for b.Loop() {
		res.Started = res.Started.Add(time.Second)
		m.record("192.0.2.1", res)
		if page {
			m.page("192.0.2.1")
		}
	}
}

// maxHostileEntry is the most a hostile modem's entry may retain: its
// bounded read, the codeword rows of the read before, and its view.
const maxHostileEntry = 512 << 10

// hostileText returns distinct strings of n bytes, at distinct offsets of
// buf: they cost the test little memory but count as n bytes each in
// retainedBytes.
func hostileText(n int) (text func() string, buf string) {
	buf = strings.Repeat("é<b>x", (n+1<<16)/5)
	next := 0
	return func() string {
		next = (next + 1) % (len(buf) - n)
		return buf[next : next+n]
	}, buf
}

// hostileData is a modem's data with every table at the page row bound
// and every string at kb kilobytes, in fields the page shows and those it
// does not; its strings are in buf.
func hostileData(kb int) (d *hitron.Data, buf string) {
	text, buf := hostileText(kb << 10)
	rows := hitron.DefaultMaxPageRows
	d = &hitron.Data{
		Model:    &hitron.ModelInfo{ModelName: text(), Vendor: text()},
		System:   &hitron.SystemInfo{HardwareVersion: text(), SoftwareVersion: "7." + text(), SerialNumber: text(), Clock: text(), Uptime: hitron.Some(60)},
		Init:     &hitron.InitStatus{Steps: []hitron.InitStep{{Name: "ranging", Raw: text()}}, NetworkAccess: text(), TrafficStatus: text()},
		CM:       &hitron.CMStatus{IP: text(), Gateway: text()},
		EventLog: &eventlog.Log{},
	}
	for i := range rows {
		d.Init.BPI = append(d.Init.BPI, [2]string{text(), text()})
		d.Downstream = append(d.Downstream, hitron.DownstreamChannel{Port: text(), Channel: text(), FrequencyRaw: text(), Modulation: text(),
			Corrected: hitron.Some(float64(i)), Uncorrect: hitron.Some(1)})
		d.Upstream = append(d.Upstream, hitron.UpstreamChannel{Port: text(), Channel: text(), FrequencyRaw: text(), BandwidthRaw: text(), Mode: text(), Modulation: text()})
		d.OFDM = append(d.OFDM, hitron.OFDMReceiver{Receiver: text(), FFT: text(), Corrected: hitron.Some(float64(i))})
		d.OFDMA = append(d.OFDMA, hitron.OFDMAChannel{Channel: text(), FFT: text()})
		d.Links = append(d.Links, hitron.LinkPort{Port: text()})
		d.Clients = append(d.Clients, hitron.ConnectedClient{Interface: text()})
		d.EventLog.Entries = append(d.EventLog.Entries, eventlog.Entry{Index: int64(i), Time: time.Unix(int64(i), 0), Text: text()[:eventlog.MaxTextBytes], EventID: "82000200"})
	}
	return d, buf
}

// fewRowsInALargeArray is a modem's data whose tables have a few rows in
// backing arrays made for the page row bound, as a page whose rows the
// parser mostly dropped leaves them.
func fewRowsInALargeArray() (*hitron.Data, string) {
	rows := hitron.DefaultMaxPageRows
	d := &hitron.Data{
		Downstream: make([]hitron.DownstreamChannel, 2, rows),
		Upstream:   make([]hitron.UpstreamChannel, 2, rows),
		OFDM:       make([]hitron.OFDMReceiver, 2, rows),
		OFDMA:      make([]hitron.OFDMAChannel, 2, rows),
		Init:       &hitron.InitStatus{Steps: make([]hitron.InitStep, 1, rows), BPI: make([][2]string, 1, rows)},
		EventLog:   &eventlog.Log{Entries: make([]eventlog.Entry, 2, rows)},
	}
	d.Init.BPI[0] = [2]string{"auth", "authorized"}
	return d, ""
}

// TestModemStoreBoundsAHostileModem records a hostile modem's data twice
// and opens its page: what the entry retains stays under maxHostileEntry
// and holds none of the modem's strings, and the page is the one the view
// would build from the data unbounded.
func TestModemStoreBoundsAHostileModem(t *testing.T) {
	for _, tt := range []struct {
		name string
		data func() (*hitron.Data, string)
	}{
		{"rows past the row cap and strings past the text cap", func() (*hitron.Data, string) { return hostileData(1) }},
		{"strings of the page's size", func() (*hitron.Data, string) {
			d, buf := hostileData(64)
			d.Init.BPI = d.Init.BPI[:4]
			return d, buf
		}},
		{"few rows in large backing arrays", fewRowsInALargeArray},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newModemStore(maxModemPages, nil)
			t0 := time.Now()
			first, _ := tt.data()
			second, buf := tt.data()
			m.record("evil", &probe.Result{Success: true, Started: t0, Data: first})
			m.record("evil", &probe.Result{Success: true, Started: t0.Add(time.Minute), Data: second})
			_, view, _ := m.page("evil")
			entry := m.byKey["evil"].Value.(*modemEntry)
			n, inBuf := retainedBytes(entry, buf)
			if inBuf > 0 {
				t.Errorf("the entry holds %d strings of the modem's own", inBuf)
			}
			if n > maxHostileEntry {
				t.Errorf("the entry retains %d bytes, more than %d", n, maxHostileEntry)
			}
			vb, _ := retainedBytes(view, "")
			t.Logf("the entry retains %d bytes, its view %d", n, vb)
			want := buildModemView(second, readCounters(first.Downstream, first.OFDM), t0, t0.Add(time.Minute))
			if !reflect.DeepEqual(view, want) {
				t.Errorf("the page differs from the view of the unbounded data:\n got %+v\nwant %+v", view, want)
			}
		})
	}
}

// TestModemStoreBuildsTheViewOnceARead: repeated pages share one view; a
// probe that read the pages makes the next page build a new one with rates
// against the read before, and a failed probe keeps the view it had.
func TestModemStoreBuildsTheViewOnceARead(t *testing.T) {
	m := newModemStore(maxModemPages, nil)
	t0 := time.Now()
	read := func(corrected float64) *hitron.Data {
		return &hitron.Data{Downstream: []hitron.DownstreamChannel{{Port: "1", Channel: "5", Corrected: hitron.Some(corrected), Uncorrect: hitron.Some(0)}}}
	}
	m.record("m", &probe.Result{Success: true, Started: t0, Data: read(100)})
	_, first, _ := m.page("m")
	if _, again, _ := m.page("m"); again != first || !first.RatesSince.IsZero() {
		t.Fatalf("a second page built the view again (%p, %p), or rates on the first read", first, again)
	}
	m.record("m", &probe.Result{Success: true, Started: t0.Add(10 * time.Second), Data: read(150)})
	_, second, _ := m.page("m")
	if second == first || second.Downstream[0].CorrectedRate.Text != "+50 (5.00/s)" || !second.RatesSince.Equal(t0) {
		t.Fatalf("after a read: the same view %v, rate %q since %v", second == first, second.Downstream[0].CorrectedRate.Text, second.RatesSince)
	}
	m.record("m", &probe.Result{Started: t0.Add(20 * time.Second), Reason: "connect"})
	last, third, _ := m.page("m")
	if third != second || last.Success || last.Reason != "connect" {
		t.Fatalf("after a failed probe: the same view %v, last %+v", third == second, last)
	}
}

// TestModemStoreKeepsARealModemUncopied: a real modem's data fit the
// bounds and are kept as the probe read them, without an allocation.
func TestModemStoreKeepsARealModemUncopied(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  modemsim.Config
	}{
		{"CGNV4-FX4", modemsim.Config{}}, {"CODA-45", modemsim.Config{DataSet: "CODA-45"}}, {"CODA-4680 (rest)", modemsim.Config{Dialect: modemsim.DialectREST}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := simData(t, tt.cfg)
			var k keptData
			if allocs := testing.AllocsPerRun(10, func() { k = keepData(d) }); allocs != 0 {
				t.Errorf("keeping the data made %v allocations", allocs)
			}
			if k.truncated || k.data.Model != d.Model || k.data.System != d.System || k.data.Init != d.Init || k.data.EventLog != d.EventLog ||
				len(d.Downstream) == 0 || &k.data.Downstream[0] != &d.Downstream[0] {
				t.Errorf("the data were not kept as read: %+v", k)
			}
		})
	}
}

// retainedBytes is the memory reachable from p, each string, array and
// pointed-to value counted once (time.Time's location is shared and not
// counted), and how many of the strings it reaches lie in buf.
func retainedBytes(p any, buf string) (n, inBuf int) {
	v := reflect.ValueOf(p)
	w := sizeWalk{seen: map[uintptr]bool{}, buf: buf}
	return int(v.Type().Elem().Size()) + w.reachable(v.Elem()), w.inBuf
}

// sizeWalk is one retainedBytes walk.
type sizeWalk struct {
	seen  map[uintptr]bool
	buf   string
	inBuf int
}

// reachable is the memory reachable from v, not v's own, past w.seen.
func (w *sizeWalk) reachable(v reflect.Value) int {
	seen := w.seen
	switch v.Kind() {
	case reflect.String:
		p := uintptr(unsafe.Pointer(unsafe.StringData(v.String())))
		if v.Len() == 0 || seen[p] {
			return 0
		}
		seen[p] = true
		if start := uintptr(unsafe.Pointer(unsafe.StringData(w.buf))); len(w.buf) > 0 && p >= start && p < start+uintptr(len(w.buf)) {
			w.inBuf++
		}
		return v.Len()
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return 0
		}
		seen[v.Pointer()] = true
		return int(v.Type().Elem().Size()) + w.reachable(v.Elem())
	case reflect.Slice:
		if v.Cap() == 0 || seen[v.Pointer()] {
			return 0
		}
		seen[v.Pointer()] = true
		n := v.Cap() * int(v.Type().Elem().Size())
		for i := range v.Len() {
			n += w.reachable(v.Index(i))
		}
		return n
	case reflect.Array:
		n := 0
		for i := range v.Len() {
			n += w.reachable(v.Index(i))
		}
		return n
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return 0
		}
		n := 0
		for i := range v.NumField() {
			n += w.reachable(v.Field(i))
		}
		return n
	case reflect.Map:
		n := v.Len() * int(v.Type().Key().Size()+v.Type().Elem().Size())
		for it := v.MapRange(); it.Next(); {
			n += w.reachable(it.Key()) + w.reachable(it.Value())
		}
		return n
	}
	return 0
}
