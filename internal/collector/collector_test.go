package collector

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
)

// load parses every dataset file of a simulator data set.
func load(t testing.TB, set string) *hitron.Data {
	t.Helper()
	d := &hitron.Data{}
	for _, ds := range hitron.KnownDatasets {
		body, err := os.ReadFile(filepath.Join("..", "modemsim", "fixtures", set, string(ds)+".json"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Parse(ds, body); err != nil {
			t.Fatalf("%s/%s: %v", set, ds, err)
		}
	}
	return d
}

// gather adds d's metrics to a fresh Set and checks that the Set exposes
// exactly what client_golang's pedantic registry would for the same samples.
func gather(t testing.TB, d *hitron.Data) *Set {
	t.Helper()
	set := NewSet()
	New(d, time.UTC).AddTo(set)
	if got, want := exposition(t, set), exposition(t, viaRegistry(t, set)); got != want {
		t.Fatalf("the Set's exposition differs from the registry's:\n--- set\n%s\n--- registry\n%s", got, want)
	}
	return set
}

// viaRegistry registers the Set's samples as const metrics in a pedantic
// registry, which checks names, label sets, types and duplicates.
func viaRegistry(t testing.TB, set *Set) *prometheus.Registry {
	t.Helper()
	mfs, err := set.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var ms constMetrics
	for _, mf := range mfs {
		var names []string
		for _, l := range mf.GetMetric()[0].GetLabel() {
			names = append(names, l.GetName())
		}
		d := prometheus.NewDesc(mf.GetName(), mf.GetHelp(), names, nil)
		for _, m := range mf.GetMetric() {
			var values []string
			for _, l := range m.GetLabel() {
				values = append(values, l.GetValue())
			}
			vt, v := prometheus.GaugeValue, m.GetGauge().GetValue()
			if mf.GetType() == dto.MetricType_COUNTER {
				vt, v = prometheus.CounterValue, m.GetCounter().GetValue()
			}
			cm, err := prometheus.NewConstMetric(d, vt, v, values...)
			if err != nil {
				t.Fatalf("%s: %v", mf.GetName(), err)
			}
			ms = append(ms, cm)
		}
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(ms)
	return reg
}

type constMetrics []prometheus.Metric

func (c constMetrics) Describe(ch chan<- *prometheus.Desc) {
	seen := map[*prometheus.Desc]bool{}
	for _, m := range c {
		if !seen[m.Desc()] {
			seen[m.Desc()] = true
			ch <- m.Desc()
		}
	}
}

func (c constMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}

// exposition is g's text exposition.
func exposition(t testing.TB, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// count is the number of series of the family name.
func count(t testing.TB, g prometheus.Gatherer, name string) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

func TestFixturesLintAndCount(t *testing.T) {
	tests := []struct {
		set  string
		want map[string]int // metric name → series count
	}{
		{"CGNV4-FX4", map[string]int{
			"hitron_channel_downstream_signal_strength_dbmv": 24, "hitron_channel_downstream_snr": 24,
			"hitron_channel_upstream_signal_strength_dbmv": 4, "hitron_channel_upstream_bandwidth": 4,
			"hitron_system_uptime_seconds_total": 1, "hitron_traffic_lan_sent_bytes_total": 1,
			"hitron_traffic_wan_recv_bytes_total": 1, "hitron_network_transmit_bytes_total": 2,
			"hitron_system_info": 1, "hitron_cm_bpi_info": 1, "hitron_system_clock_timestamp_seconds": 1,
			"hitron_downstream_power_dbmv": 24, "hitron_downstream_codewords_corrected_total": 0,
			"hitron_cm_init_step_success": 6, "hitron_cm_ip_info": 1, "hitron_cm_dhcp_lease_seconds": 1,
			"hitron_downstream_ofdm_snr_db": 0, "hitron_connected_clients": 1,
		}},
		{"CODA-45", map[string]int{
			"hitron_downstream_codewords_corrected_total": 31, "hitron_downstream_received_bytes_total": 31,
			"hitron_downstream_ofdm_snr_db": 1, "hitron_downstream_ofdm_locked": 6,
			"hitron_upstream_ofdma_enabled": 2, "hitron_upstream_ofdma_power_dbmv": 0,
			"hitron_traffic_lan_sent_bytes_total": 0, "hitron_uptime_seconds": 1, "hitron_lan_port_up": 2,
			"hitron_cm_dhcp_lease_seconds": 0,
		}},
		{"CODA-56", map[string]int{"hitron_downstream_power_dbmv": 1, "hitron_system_info": 1}},
		{"CGNM-2250", map[string]int{"hitron_lan_uptime_seconds": 1, "hitron_wan_uptime_seconds": 1, "hitron_system_clock_timestamp_seconds": 1, "hitron_uptime_seconds": 0}},
		{"CGNV4-FX4-firmware-comments", map[string]int{"hitron_channel_downstream_snr": 1, "hitron_cm_bpi_info": 1}},
		{"yrro-test", map[string]int{"hitron_channel_downstream_snr": 2, "hitron_channel_upstream_bandwidth": 2}},
		{"odd-values", map[string]int{
			// port 3 is all placeholders; the JSON-number row (port 6) counts.
			"hitron_downstream_power_dbmv": 4, "hitron_downstream_snr_db": 2, "hitron_downstream_frequency_hertz": 4,
			"hitron_downstream_channels": 1, "hitron_upstream_power_dbmv": 1, "hitron_upstream_channel_width_hertz": 1,
			"hitron_traffic_wan_sent_bytes_total": 0, "hitron_traffic_lan_sent_bytes_total": 0, "hitron_traffic_lan_recv_bytes_total": 1,
			"hitron_downstream_ofdm_locked": 5, "hitron_upstream_ofdma_power_dbmv": 1, "hitron_upstream_ofdma_channel_width_hertz": 1,
			"hitron_cm_ip_info": 0, "hitron_cm_dhcp_lease_seconds": 0, "hitron_cm_network_access_permitted": 1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			set := gather(t, load(t, tt.set))
			problems, err := testutil.GatherAndLint(set)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint %s: %s", p.Metric, p.Text)
			}
			for name, want := range tt.want {
				if got := count(t, set, name); got != want {
					t.Errorf("%s: %d series, want %d", name, got, want)
				}
			}
		})
	}
}

func TestValues(t *testing.T) {
	reg := gather(t, load(t, "CGNV4-FX4"))
	want := `
# HELP hitron_channel_downstream_snr Downstream channel SNR in dB (original exporter's name and labels).
# TYPE hitron_channel_downstream_snr gauge
hitron_channel_downstream_snr{channel="9",frequency="426250000",port="1"} 40.946
# HELP hitron_system_uptime_seconds_total Time since the modem booted (original exporter's name; see hitron_uptime_seconds).
# TYPE hitron_system_uptime_seconds_total counter
hitron_system_uptime_seconds_total 13734
# HELP hitron_system_info Modem identity (value 1).
# TYPE hitron_system_info gauge
hitron_system_info{hardware_version="2D",model_name="CGNV4-FX4",serial_number="ABC123",software_version="4.5.10.201-CD-UPC"} 1
# HELP hitron_cm_bpi_info Cable Modem Baseline Privacy Interface
# TYPE hitron_cm_bpi_info gauge
hitron_cm_bpi_info{auth="authorized",tek="operational"} 1
# HELP hitron_traffic_lan_sent_bytes_total Bytes sent on the LAN side (original exporter's first name; two significant decimals).
# TYPE hitron_traffic_lan_sent_bytes_total counter
hitron_traffic_lan_sent_bytes_total 4.248e+07
`
	names := []string{"hitron_system_uptime_seconds_total", "hitron_system_info", "hitron_cm_bpi_info", "hitron_traffic_lan_sent_bytes_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// The first downstream SNR sample only.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "hitron_channel_downstream_snr" {
			m := mf.GetMetric()
			found := false
			for _, s := range m {
				labels := map[string]string{}
				for _, l := range s.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["port"] == "1" && labels["channel"] == "9" && labels["frequency"] == "426250000" && s.GetGauge().GetValue() == 40.946 {
					found = true
				}
			}
			if !found {
				t.Fatal("port 1 SNR sample missing")
			}
		}
	}
}

func TestDuplicateChannelsDoNotFailTheScrape(t *testing.T) {
	d := &hitron.Data{}
	body := `[{"portId":"1","channelId":"9","frequency":"1","signalStrength":"1","snr":"2"},{"portId":"1","channelId":"9","frequency":"1","signalStrength":"3","snr":"4"}]`
	if err := d.Parse(hitron.Downstream, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if _, err := gather(t, d).Gather(); err != nil {
		t.Fatalf("duplicate channel broke the scrape: %v", err)
	}
}

func BenchmarkCollect32Channels(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := 1; i <= 32; i++ {
		if i > 1 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"portId":"` + strconv.Itoa(i) + `","channelId":"` + strconv.Itoa(i) + `","frequency":"426250000","modulation":"2","signalStrength":"-1.100","snr":"40.946","dsoctets":"3 * 2e32 + 1025007675","correcteds":"91","uncorrect":"1084"}`)
	}
	sb.WriteString("]")
	body := []byte(sb.String())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d := &hitron.Data{}
		if err := d.Parse(hitron.Downstream, body); err != nil {
			b.Fatal(err)
		}
		set := NewSet()
		New(d, time.UTC).AddTo(set)
		if _, err := set.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExposition is the exporter's own work on one probe of a
// CGNV4-FX4 (24 downstream, 4 upstream channels) once the pages are read:
// parse them, gather the metrics, and write the text exposition. The
// "registry" case gathers the same samples as const metrics through
// client_golang's registry instead of the Set: the baseline.
func BenchmarkExposition(b *testing.B) {
	pages := map[hitron.Dataset][]byte{}
	for _, ds := range []hitron.Dataset{hitron.SystemModel, hitron.SysInfo, hitron.CMInit, hitron.DocsisWan, hitron.Downstream, hitron.Upstream} {
		body, err := os.ReadFile(filepath.Join("..", "modemsim", "fixtures", "CGNV4-FX4", string(ds)+".json"))
		if err != nil {
			b.Fatal(err)
		}
		pages[ds] = body
	}
	for _, how := range []string{"text", "set+expfmt", "registry+expfmt"} {
		b.Run(how, func(b *testing.B) {
			b.ReportAllocs()
			var out []byte
			for b.Loop() {
				d := &hitron.Data{}
				for ds, body := range pages {
					if err := d.Parse(ds, body); err != nil {
						b.Fatal(err)
					}
				}
				set := NewSet()
				New(d, time.UTC).AddTo(set)
				if how == "text" {
					out, _ = set.AppendText(out[:0])
					continue
				}
				var g prometheus.Gatherer = set
				if how == "registry+expfmt" {
					g = viaRegistry(b, set)
				}
				mfs, err := g.Gather()
				if err != nil {
					b.Fatal(err)
				}
				enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
				for _, mf := range mfs {
					if err := enc.Encode(mf); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func TestSetMaxSamples(t *testing.T) {
	g := NewGauge("test_gauge", "A test gauge.", "i")
	tests := []struct {
		name       string
		max, added int
		kept       int
		overflowed bool
	}{
		{"unbounded", 0, 50, 50, false},
		{"under the bound", 10, 9, 9, false},
		{"at the bound", 10, 10, 10, false},
		{"past the bound", 10, 11, 10, true},
		{"far past the bound", 10, 100000, 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet()
			s.SetMaxSamples(tt.max)
			for i := range tt.added {
				s.Add(g, 1, strconv.Itoa(i))
			}
			mfs, _ := s.Gather()
			kept := 0
			for _, mf := range mfs {
				kept += len(mf.Metric)
			}
			if kept != tt.kept || s.Overflowed() != tt.overflowed {
				t.Fatalf("kept %d samples, overflowed %v; want %d, %v", kept, s.Overflowed(), tt.kept, tt.overflowed)
			}
		})
	}
}

// TestDescMemoryFollowsTheModemsLabels: the BPI family's description is
// kept between probes of a device, and built again when the modem names
// other labels (a firmware update), never answering with the old names.
func TestDescMemoryFollowsTheModemsLabels(t *testing.T) {
	var mem DescMemory
	probes := []struct {
		bpi  [][2]string
		want string
	}{
		{[][2]string{{"tek", "operational"}, {"auth", "authorized"}}, `hitron_cm_bpi_info{auth="authorized",tek="operational"} 1`},
		{[][2]string{{"auth", "authorized"}, {"tek", "operational"}}, `hitron_cm_bpi_info{auth="authorized",tek="operational"} 1`},
		{[][2]string{{"auth", "reject"}}, `hitron_cm_bpi_info{auth="reject"} 1`},
		{[][2]string{{"auth", "authorized"}, {"kek", "on"}, {"tek", "operational"}}, `hitron_cm_bpi_info{auth="authorized",kek="on",tek="operational"} 1`},
	}
	var first *Desc
	for i, p := range probes {
		set := NewSet()
		New(&hitron.Data{Init: &hitron.InitStatus{BPI: p.bpi}}, time.UTC).WithDescMemory(&mem).AddTo(set)
		text, ok := set.AppendText(nil)
		if !ok || !strings.Contains(string(text), "\n"+p.want+"\n") {
			t.Fatalf("probe %d: exposition lacks %s:\n%s", i, p.want, text)
		}
		switch i {
		case 0:
			first = mem.desc
		case 1:
			if mem.desc != first {
				t.Error("the same label names built a new description")
			}
		}
	}
}
