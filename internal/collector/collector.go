// Package collector turns the data parsed from a modem into Prometheus
// metrics. It knows nothing of HTTP: it gets plain structs and emits const
// metrics for a probe's fresh registry. A series is emitted only when the
// firmware supplied a value; placeholders never become zeros.
package collector

import (
	"hash/maphash"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
)

// Collector emits the metrics of one probe's device data.
type Collector struct {
	data     *hitron.Data
	location *time.Location
}

// New returns a collector for data; loc is the modem clock's time zone
// (nil means UTC).
func New(data *hitron.Data, loc *time.Location) *Collector {
	if loc == nil {
		loc = time.UTC
	}
	return &Collector{data: data, location: loc}
}

// Describe sends nothing: the collector is unchecked, because label names of
// hitron_cm_bpi_info depend on what the device reports.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// Metric descriptions. Compatibility names first (the original exporter's),
// then the conventional ones.
var (
	compatChannel = []string{"channel", "frequency", "port"}
	channel       = []string{"port", "channel"}

	dsCompatPower = desc("hitron_channel_downstream_signal_strength_dbmv", "Downstream channel power in dBmV (original exporter's name and labels).", compatChannel...)
	dsCompatSNR   = desc("hitron_channel_downstream_snr", "Downstream channel SNR in dB (original exporter's name and labels).", compatChannel...)
	usCompatPower = desc("hitron_channel_upstream_signal_strength_dbmv", "Upstream channel power in dBmV (original exporter's name and labels).", compatChannel...)
	usCompatBW    = desc("hitron_channel_upstream_bandwidth", "Upstream channel width in Hz (original exporter's name and labels).", compatChannel...)
	uptimeCompat  = desc("hitron_system_uptime_seconds_total", "Time since the modem booted (original exporter's name; see hitron_uptime_seconds).")
	clockCompat   = desc("hitron_system_clock_timestamp_seconds", "The modem's clock as a Unix timestamp, read in the target's configured time zone (UTC by default).")
	trafficCompat = map[string]*prometheus.Desc{
		"lan_sent": desc("hitron_traffic_lan_sent_bytes_total", "Bytes sent on the LAN side (original exporter's first name; two significant decimals)."),
		"lan_recv": desc("hitron_traffic_lan_recv_bytes_total", "Bytes received on the LAN side (original exporter's first name; two significant decimals)."),
		"wan_sent": desc("hitron_traffic_wan_sent_bytes_total", "Bytes sent on the WAN side (original exporter's first name; two significant decimals)."),
		"wan_recv": desc("hitron_traffic_wan_recv_bytes_total", "Bytes received on the WAN side (original exporter's first name; two significant decimals)."),
	}
	netTransmit = desc("hitron_network_transmit_bytes_total", "Bytes sent by device (lan, wan); the modem reports two decimals of K/M/G, decimal multipliers.", "device")
	netReceive  = desc("hitron_network_receive_bytes_total", "Bytes received by device (lan, wan); the modem reports two decimals of K/M/G, decimal multipliers.", "device")
	systemInfo  = desc("hitron_system_info", "Modem identity (value 1).", "hardware_version", "model_name", "serial_number", "software_version")

	dsFreq      = desc("hitron_downstream_frequency_hertz", "Downstream SC-QAM channel centre frequency.", channel...)
	dsPower     = desc("hitron_downstream_power_dbmv", "Downstream SC-QAM channel receive power in dBmV.", channel...)
	dsSNR       = desc("hitron_downstream_snr_db", "Downstream SC-QAM channel signal-to-noise ratio in dB.", channel...)
	dsInfo      = desc("hitron_downstream_channel_info", "Downstream SC-QAM channel modulation (value 1).", "port", "channel", "modulation")
	dsCorrected = desc("hitron_downstream_codewords_corrected_total", "Downstream codewords with errors corrected by FEC.", channel...)
	dsUncorrect = desc("hitron_downstream_codewords_uncorrectable_total", "Downstream codewords with uncorrectable errors.", channel...)
	dsOctets    = desc("hitron_downstream_received_bytes_total", "Bytes received on the downstream channel.", channel...)
	dsChannels  = desc("hitron_downstream_channels", "Number of downstream SC-QAM channels the modem reports.")

	usFreq     = desc("hitron_upstream_frequency_hertz", "Upstream SC-QAM channel centre frequency.", channel...)
	usPower    = desc("hitron_upstream_power_dbmv", "Upstream SC-QAM channel transmit power in dBmV.", channel...)
	usWidth    = desc("hitron_upstream_channel_width_hertz", "Upstream SC-QAM channel width.", channel...)
	usInfo     = desc("hitron_upstream_channel_info", "Upstream channel mode and modulation (value 1).", "port", "channel", "mode", "modulation")
	usChannels = desc("hitron_upstream_channels", "Number of upstream SC-QAM channels the modem reports.")

	ofdmLocked    = desc("hitron_downstream_ofdm_locked", "Whether the OFDM receiver has locked the PLC, NCP or MDC1 (1) or not (0).", "receiver", "lock")
	ofdmPLCPower  = desc("hitron_downstream_ofdm_plc_power_dbmv", "OFDM PLC receive power in dBmV.", "receiver")
	ofdmSNR       = desc("hitron_downstream_ofdm_snr_db", "OFDM channel SNR (MER) in dB.", "receiver")
	ofdmFirstSub  = desc("hitron_downstream_ofdm_first_subcarrier_frequency_hertz", "Frequency of the OFDM channel's subcarrier 0.", "receiver")
	ofdmCorrected = desc("hitron_downstream_ofdm_codewords_corrected_total", "OFDM codewords corrected by FEC.", "receiver")
	ofdmUncorrect = desc("hitron_downstream_ofdm_codewords_uncorrectable_total", "OFDM codewords with uncorrectable errors.", "receiver")
	ofdmOctets    = desc("hitron_downstream_ofdm_received_bytes_total", "Bytes received on the OFDM channel.", "receiver")
	ofdmInfo      = desc("hitron_downstream_ofdm_channel_info", "OFDM receiver FFT size (value 1).", "receiver", "fft")

	ofdmaEnabled = desc("hitron_upstream_ofdma_enabled", "Whether the OFDMA upstream channel is enabled.", "channel")
	ofdmaFreq    = desc("hitron_upstream_ofdma_frequency_hertz", "OFDMA upstream channel frequency.", "channel")
	ofdmaPower   = desc("hitron_upstream_ofdma_power_dbmv", "OFDMA upstream reported transmit power in dBmV.", "channel")
	ofdmaAtten   = desc("hitron_upstream_ofdma_digital_attenuation_db", "OFDMA upstream digital attenuation in dB.", "channel")
	ofdmaWidth   = desc("hitron_upstream_ofdma_channel_width_hertz", "OFDMA upstream channel width.", "channel")
	ofdmaInfo    = desc("hitron_upstream_ofdma_channel_info", "OFDMA upstream FFT size (value 1).", "channel", "fft")

	uptime      = desc("hitron_uptime_seconds", "Time since the modem booted.")
	lanUptime   = desc("hitron_lan_uptime_seconds", "LAN uptime (CGN3/CGNM firmware).")
	wanUptime   = desc("hitron_wan_uptime_seconds", "WAN uptime (CGN3/CGNM firmware).")
	initStep    = desc("hitron_cm_init_step_success", "Whether a DOCSIS provisioning step succeeded (steps the ISP hides are left out).", "step")
	netAccess   = desc("hitron_cm_network_access_permitted", "Whether the CMTS permits network access (1) or denies it (0).")
	cmIP        = desc("hitron_cm_ip_info", "The cable modem's management address (value 1).", "ip", "netmask", "gateway")
	cmLease     = desc("hitron_cm_dhcp_lease_seconds", "Remaining DHCP lease time of the modem's management address.")
	lanPortUp   = desc("hitron_lan_port_up", "Whether the LAN port has link.", "port")
	lanSpeed    = desc("hitron_lan_port_speed_bytes_per_second", "LAN port link speed.", "port")
	clientCount = desc("hitron_connected_clients", "Connected LAN/WiFi clients marked active, by interface.", "interface")
)

// emitter drops duplicate series (a firmware listing one channel twice
// would otherwise fail the whole scrape) and absent values.
type emitter struct {
	ch   chan<- prometheus.Metric
	seen map[seriesKey]bool
	seed maphash.Seed
}

// seriesKey identifies a series: its description and a hash of its label
// values (64 bits: a collision among a modem's few hundred series is
// vanishingly unlikely, and would only drop a duplicate-looking sample).
type seriesKey struct {
	desc   *prometheus.Desc
	labels uint64
}

func (e *emitter) emit(d *prometheus.Desc, t prometheus.ValueType, v hitron.Value, labels ...string) {
	if !v.Valid {
		return
	}
	var h maphash.Hash
	h.SetSeed(e.seed)
	for _, l := range labels {
		h.WriteString(l)
		h.WriteByte(0xff)
	}
	key := seriesKey{desc: d, labels: h.Sum64()}
	if e.seen[key] {
		return
	}
	e.seen[key] = true
	m, err := prometheus.NewConstMetric(d, t, v.V, labels...)
	if err != nil {
		return
	}
	e.ch <- m
}

func (e *emitter) gauge(d *prometheus.Desc, v hitron.Value, labels ...string) {
	e.emit(d, prometheus.GaugeValue, v, labels...)
}

func (e *emitter) counter(d *prometheus.Desc, v hitron.Value, labels ...string) {
	e.emit(d, prometheus.CounterValue, v, labels...)
}

func one() hitron.Value { return hitron.Some(1) }

func boolValue(b bool) hitron.Value {
	if b {
		return hitron.Some(1)
	}
	return hitron.Some(0)
}

// Collect emits the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	e := &emitter{ch: ch, seen: make(map[seriesKey]bool, 512), seed: maphash.MakeSeed()}
	d := c.data
	c.collectChannels(e)
	if s := d.System; s != nil {
		e.counter(uptimeCompat, s.Uptime)
		e.gauge(uptime, s.Uptime)
		e.gauge(lanUptime, s.LANUptime)
		e.gauge(wanUptime, s.WANUptime)
		if t, err := hitron.ParseClock(s.Clock, c.location); err == nil {
			e.gauge(clockCompat, hitron.Some(float64(t.Unix())))
		}
		e.counter(trafficCompat["lan_sent"], s.LANSent)
		e.counter(trafficCompat["lan_recv"], s.LANReceived)
		e.counter(trafficCompat["wan_sent"], s.WANSent)
		e.counter(trafficCompat["wan_recv"], s.WANReceived)
		e.counter(netTransmit, s.LANSent, "lan")
		e.counter(netTransmit, s.WANSent, "wan")
		e.counter(netReceive, s.LANReceived, "lan")
		e.counter(netReceive, s.WANReceived, "wan")
		model := ""
		if d.Model != nil {
			model = d.Model.ModelName
		}
		e.gauge(systemInfo, one(), s.HardwareVersion, model, s.SerialNumber, s.SoftwareVersion)
	}
	if in := d.Init; in != nil {
		for _, st := range in.Steps {
			if !st.Hidden() || st.Raw == "" {
				e.gauge(initStep, boolValue(st.Success()), st.Name)
			}
		}
		if len(in.BPI) > 0 {
			names := make([]string, 0, len(in.BPI))
			values := make([]string, 0, len(in.BPI))
			pairs := append([][2]string(nil), in.BPI...)
			sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
			for _, kv := range pairs {
				names = append(names, kv[0])
				values = append(values, kv[1])
			}
			e.gauge(desc("hitron_cm_bpi_info", "Cable Modem Baseline Privacy Interface", names...), one(), values...)
		}
		e.gauge(netAccess, accessValue(in.NetworkAccess))
	}
	if cm := d.CM; cm != nil {
		if d.Init == nil {
			e.gauge(netAccess, accessValue(cm.NetworkAccess))
		}
		if cm.IP != "" && !hitron.IsPlaceholder(cm.IP) {
			e.gauge(cmIP, one(), cm.IP, cm.NetMask, cm.Gateway)
		}
		e.gauge(cmLease, cm.Lease)
	}
	for _, l := range d.Links {
		e.gauge(lanPortUp, l.Up, l.Port)
		e.gauge(lanSpeed, l.Speed, l.Port)
	}
	if d.HasConnects {
		counts := map[string]float64{}
		for _, cl := range d.Clients {
			if cl.Online {
				counts[cl.Interface]++
			}
		}
		for iface, n := range counts {
			e.gauge(clientCount, hitron.Some(n), iface)
		}
	}
}

func accessValue(s string) hitron.Value {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "permitted", "permit", "enabled":
		return hitron.Some(1)
	case "denied", "deny", "disabled":
		return hitron.Some(0)
	}
	return hitron.Value{}
}

func (c *Collector) collectChannels(e *emitter) {
	d := c.data
	if d.Downstream != nil {
		e.gauge(dsChannels, hitron.Some(float64(len(d.Downstream))))
	}
	for _, ch := range d.Downstream {
		e.gauge(dsCompatPower, ch.Power, ch.Channel, ch.FrequencyRaw, ch.Port)
		e.gauge(dsCompatSNR, ch.SNR, ch.Channel, ch.FrequencyRaw, ch.Port)
		e.gauge(dsFreq, ch.Frequency, ch.Port, ch.Channel)
		e.gauge(dsPower, ch.Power, ch.Port, ch.Channel)
		e.gauge(dsSNR, ch.SNR, ch.Port, ch.Channel)
		if ch.Modulation != "" {
			e.gauge(dsInfo, one(), ch.Port, ch.Channel, ch.Modulation)
		}
		e.counter(dsCorrected, ch.Corrected, ch.Port, ch.Channel)
		e.counter(dsUncorrect, ch.Uncorrect, ch.Port, ch.Channel)
		e.counter(dsOctets, ch.Octets, ch.Port, ch.Channel)
	}
	if d.Upstream != nil {
		e.gauge(usChannels, hitron.Some(float64(len(d.Upstream))))
	}
	for _, ch := range d.Upstream {
		e.gauge(usCompatPower, ch.Power, ch.Channel, ch.FrequencyRaw, ch.Port)
		e.gauge(usCompatBW, ch.Bandwidth, ch.Channel, ch.FrequencyRaw, ch.Port)
		e.gauge(usFreq, ch.Frequency, ch.Port, ch.Channel)
		e.gauge(usPower, ch.Power, ch.Port, ch.Channel)
		e.gauge(usWidth, ch.Bandwidth, ch.Port, ch.Channel)
		if ch.Mode != "" || ch.Modulation != "" {
			e.gauge(usInfo, one(), ch.Port, ch.Channel, ch.Mode, ch.Modulation)
		}
	}
	for _, r := range d.OFDM {
		e.gauge(ofdmLocked, r.PLCLock, r.Receiver, "plc")
		e.gauge(ofdmLocked, r.NCPLock, r.Receiver, "ncp")
		e.gauge(ofdmLocked, r.MDC1Lock, r.Receiver, "mdc1")
		e.gauge(ofdmPLCPower, r.PLCPower, r.Receiver)
		e.gauge(ofdmSNR, r.SNR, r.Receiver)
		e.gauge(ofdmFirstSub, r.FirstSubcarrier, r.Receiver)
		e.counter(ofdmCorrected, r.Corrected, r.Receiver)
		e.counter(ofdmUncorrect, r.Uncorrect, r.Receiver)
		e.counter(ofdmOctets, r.Octets, r.Receiver)
		if r.FFT != "" && !hitron.IsPlaceholder(r.FFT) {
			e.gauge(ofdmInfo, one(), r.Receiver, r.FFT)
		}
	}
	for _, u := range d.OFDMA {
		e.gauge(ofdmaEnabled, u.Enabled, u.Channel)
		if u.Enabled.Valid && u.Enabled.V == 0 {
			continue // a disabled channel reports zeros, not measurements
		}
		e.gauge(ofdmaFreq, u.Frequency, u.Channel)
		e.gauge(ofdmaPower, u.Power, u.Channel)
		e.gauge(ofdmaAtten, u.DigAtten, u.Channel)
		if u.ChannelWidth.Valid {
			// channelBw is in MHz.
			e.gauge(ofdmaWidth, hitron.Some(u.ChannelWidth.V*1e6), u.Channel)
		}
		if u.FFT != "" {
			e.gauge(ofdmaInfo, one(), u.Channel, u.FFT)
		}
	}
}
