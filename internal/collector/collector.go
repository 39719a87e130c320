// Package collector turns the data parsed from a modem into Prometheus
// metrics. It knows nothing of HTTP: it gets plain structs and adds their
// samples to a probe's Set, which gathers them for promhttp. A series is
// emitted only when the firmware supplied a value; placeholders never become
// zeros.
package collector

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
)

// Collector emits the metrics of one probe's device data.
type Collector struct {
	data     *hitron.Data
	location *time.Location
	descs    *DescMemory
}

// New returns a collector for data; loc is the modem clock's time zone
// (nil means UTC).
func New(data *hitron.Data, loc *time.Location) *Collector {
	if loc == nil {
		loc = time.UTC
	}
	return &Collector{data: data, location: loc}
}

// WithDescMemory has the collector take the descriptions of families whose
// labels the modem names (hitron_cm_bpi_info) from m, which keeps the last
// one: a modem names the same labels probe after probe, and building a
// description validates it with client_golang each time. Nil builds one
// every time.
func (c *Collector) WithDescMemory(m *DescMemory) *Collector {
	c.descs = m
	return c
}

// DescMemory keeps the last description built for labels a modem named
// (see WithDescMemory), one per device. It is safe for concurrent use.
type DescMemory struct {
	mu     sync.Mutex
	labels []string
	desc   *Desc
}

// bpiInfo returns hitron_cm_bpi_info's description for these label names.
func (c *Collector) bpiInfo(names []string) *Desc {
	build := func() *Desc {
		return NewGauge("hitron_cm_bpi_info", "Cable Modem Baseline Privacy Interface", names...)
	}
	m := c.descs
	if m == nil {
		return build()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.desc == nil || !slices.Equal(m.labels, names) {
		m.labels, m.desc = names, build()
	}
	return m.desc
}

// Metric descriptions. Compatibility names first (the original exporter's),
// then the conventional ones.
var (
	compatChannel = []string{"channel", "frequency", "port"}
	channel       = []string{"port", "channel"}

	dsCompatPower = NewGauge("hitron_channel_downstream_signal_strength_dbmv", "Downstream channel power in dBmV (original exporter's name and labels).", compatChannel...)
	dsCompatSNR   = NewGauge("hitron_channel_downstream_snr", "Downstream channel SNR in dB (original exporter's name and labels).", compatChannel...)
	usCompatPower = NewGauge("hitron_channel_upstream_signal_strength_dbmv", "Upstream channel power in dBmV (original exporter's name and labels).", compatChannel...)
	usCompatBW    = NewGauge("hitron_channel_upstream_bandwidth", "Upstream channel width in Hz (original exporter's name and labels).", compatChannel...)
	uptimeCompat  = NewCounter("hitron_system_uptime_seconds_total", "Time since the modem booted (original exporter's name; see hitron_uptime_seconds).")
	clockCompat   = NewGauge("hitron_system_clock_timestamp_seconds", "The modem's clock as a Unix timestamp, read in the target's configured time zone (UTC by default).")
	trafficCompat = map[string]*Desc{
		"lan_sent": NewCounter("hitron_traffic_lan_sent_bytes_total", "Bytes sent on the LAN side (original exporter's first name; two significant decimals)."),
		"lan_recv": NewCounter("hitron_traffic_lan_recv_bytes_total", "Bytes received on the LAN side (original exporter's first name; two significant decimals)."),
		"wan_sent": NewCounter("hitron_traffic_wan_sent_bytes_total", "Bytes sent on the WAN side (original exporter's first name; two significant decimals)."),
		"wan_recv": NewCounter("hitron_traffic_wan_recv_bytes_total", "Bytes received on the WAN side (original exporter's first name; two significant decimals)."),
	}
	netTransmit = NewCounter("hitron_network_transmit_bytes_total", "Bytes sent by device (lan, wan); the modem reports two decimals of K/M/G, decimal multipliers.", "device")
	netReceive  = NewCounter("hitron_network_receive_bytes_total", "Bytes received by device (lan, wan); the modem reports two decimals of K/M/G, decimal multipliers.", "device")
	systemInfo  = NewGauge("hitron_system_info", "Modem identity (value 1).", "hardware_version", "model_name", "serial_number", "software_version")

	dsFreq      = NewGauge("hitron_downstream_frequency_hertz", "Downstream SC-QAM channel centre frequency.", channel...)
	dsPower     = NewGauge("hitron_downstream_power_dbmv", "Downstream SC-QAM channel receive power in dBmV.", channel...)
	dsSNR       = NewGauge("hitron_downstream_snr_db", "Downstream SC-QAM channel signal-to-noise ratio in dB.", channel...)
	dsInfo      = NewGauge("hitron_downstream_channel_info", "Downstream SC-QAM channel modulation (value 1).", "port", "channel", "modulation")
	dsCorrected = NewCounter("hitron_downstream_codewords_corrected_total", "Downstream codewords with errors corrected by FEC.", channel...)
	dsUncorrect = NewCounter("hitron_downstream_codewords_uncorrectable_total", "Downstream codewords with uncorrectable errors.", channel...)
	dsOctets    = NewCounter("hitron_downstream_received_bytes_total", "Bytes received on the downstream channel.", channel...)
	dsChannels  = NewGauge("hitron_downstream_channels", "Number of downstream SC-QAM channels the modem reports.")

	usFreq     = NewGauge("hitron_upstream_frequency_hertz", "Upstream SC-QAM channel centre frequency.", channel...)
	usPower    = NewGauge("hitron_upstream_power_dbmv", "Upstream SC-QAM channel transmit power in dBmV.", channel...)
	usWidth    = NewGauge("hitron_upstream_channel_width_hertz", "Upstream SC-QAM channel width.", channel...)
	usInfo     = NewGauge("hitron_upstream_channel_info", "Upstream channel mode and modulation (value 1).", "port", "channel", "mode", "modulation")
	usChannels = NewGauge("hitron_upstream_channels", "Number of upstream SC-QAM channels the modem reports.")

	ofdmLocked    = NewGauge("hitron_downstream_ofdm_locked", "Whether the OFDM receiver has locked the PLC, NCP or MDC1 (1) or not (0).", "receiver", "lock")
	ofdmPLCPower  = NewGauge("hitron_downstream_ofdm_plc_power_dbmv", "OFDM PLC receive power in dBmV.", "receiver")
	ofdmSNR       = NewGauge("hitron_downstream_ofdm_snr_db", "OFDM channel SNR (MER) in dB.", "receiver")
	ofdmFirstSub  = NewGauge("hitron_downstream_ofdm_first_subcarrier_frequency_hertz", "Frequency of the OFDM channel's subcarrier 0.", "receiver")
	ofdmCorrected = NewCounter("hitron_downstream_ofdm_codewords_corrected_total", "OFDM codewords corrected by FEC.", "receiver")
	ofdmUncorrect = NewCounter("hitron_downstream_ofdm_codewords_uncorrectable_total", "OFDM codewords with uncorrectable errors.", "receiver")
	ofdmOctets    = NewCounter("hitron_downstream_ofdm_received_bytes_total", "Bytes received on the OFDM channel.", "receiver")
	ofdmInfo      = NewGauge("hitron_downstream_ofdm_channel_info", "OFDM receiver FFT size (value 1).", "receiver", "fft")

	ofdmaEnabled = NewGauge("hitron_upstream_ofdma_enabled", "Whether the OFDMA upstream channel is enabled.", "channel")
	ofdmaFreq    = NewGauge("hitron_upstream_ofdma_frequency_hertz", "OFDMA upstream channel frequency.", "channel")
	ofdmaPower   = NewGauge("hitron_upstream_ofdma_power_dbmv", "OFDMA upstream reported transmit power in dBmV.", "channel")
	ofdmaAtten   = NewGauge("hitron_upstream_ofdma_digital_attenuation_db", "OFDMA upstream digital attenuation in dB.", "channel")
	ofdmaWidth   = NewGauge("hitron_upstream_ofdma_channel_width_hertz", "OFDMA upstream channel width.", "channel")
	ofdmaInfo    = NewGauge("hitron_upstream_ofdma_channel_info", "OFDMA upstream FFT size (value 1).", "channel", "fft")

	uptime      = NewGauge("hitron_uptime_seconds", "Time since the modem booted.")
	lanUptime   = NewGauge("hitron_lan_uptime_seconds", "LAN uptime (CGN3/CGNM firmware).")
	wanUptime   = NewGauge("hitron_wan_uptime_seconds", "WAN uptime (CGN3/CGNM firmware).")
	initStep    = NewGauge("hitron_cm_init_step_success", "Whether a DOCSIS provisioning step succeeded (steps the ISP hides are left out).", "step")
	netAccess   = NewGauge("hitron_cm_network_access_permitted", "Whether the CMTS permits network access (1) or denies it (0).")
	cmIP        = NewGauge("hitron_cm_ip_info", "The cable modem's management address (value 1).", "ip", "netmask", "gateway")
	cmLease     = NewGauge("hitron_cm_dhcp_lease_seconds", "Remaining DHCP lease time of the modem's management address.")
	cmDataRate  = NewGauge("hitron_cm_data_rate_bytes_per_second", "The DOCSIS data rate the modem reports by direction (the REST family's CM/SysInfo DsDataRate and UsDataRate, bits per second divided by 8).", "direction")
	lanPortUp   = NewGauge("hitron_lan_port_up", "Whether the LAN port has link.", "port")
	lanSpeed    = NewGauge("hitron_lan_port_speed_bytes_per_second", "LAN port link speed.", "port")
	clientCount = NewGauge("hitron_connected_clients", "Connected LAN/WiFi clients marked active, by interface.", "interface")
)

// emitter adds the samples whose value the firmware supplied.
type emitter struct{ set *Set }

func (e emitter) add(d *Desc, v hitron.Value, labels ...string) {
	if v.Valid {
		e.set.Add(d, v.V, labels...)
	}
}

func one() hitron.Value { return hitron.Some(1) }

func boolValue(b bool) hitron.Value {
	if b {
		return hitron.Some(1)
	}
	return hitron.Some(0)
}

// AddTo adds the metrics to s.
func (c *Collector) AddTo(s *Set) {
	e := emitter{set: s}
	d := c.data
	c.collectChannels(e)
	if s := d.System; s != nil {
		e.add(uptimeCompat, s.Uptime)
		e.add(uptime, s.Uptime)
		e.add(lanUptime, s.LANUptime)
		e.add(wanUptime, s.WANUptime)
		if t, err := hitron.ParseClock(s.Clock, c.location); err == nil {
			e.add(clockCompat, hitron.Some(float64(t.Unix())))
		}
		e.add(trafficCompat["lan_sent"], s.LANSent)
		e.add(trafficCompat["lan_recv"], s.LANReceived)
		e.add(trafficCompat["wan_sent"], s.WANSent)
		e.add(trafficCompat["wan_recv"], s.WANReceived)
		e.add(netTransmit, s.LANSent, "lan")
		e.add(netTransmit, s.WANSent, "wan")
		e.add(netReceive, s.LANReceived, "lan")
		e.add(netReceive, s.WANReceived, "wan")
		model := ""
		if d.Model != nil {
			model = d.Model.ModelName
		}
		e.add(systemInfo, one(), s.HardwareVersion, model, s.SerialNumber, s.SoftwareVersion)
	}
	if in := d.Init; in != nil {
		for _, st := range in.Steps {
			if !st.Hidden() || st.Raw == "" {
				e.add(initStep, boolValue(st.Success()), st.Name)
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
			e.add(c.bpiInfo(names), one(), values...)
		}
		e.add(netAccess, accessValue(in.NetworkAccess))
	}
	if cm := d.CM; cm != nil {
		if d.Init == nil {
			e.add(netAccess, accessValue(cm.NetworkAccess))
		}
		if cm.IP != "" && !hitron.IsPlaceholder(cm.IP) {
			e.add(cmIP, one(), cm.IP, cm.NetMask, cm.Gateway)
		}
		e.add(cmLease, cm.Lease)
		e.add(cmDataRate, bytesOfBits(cm.DataRateDown), "downstream")
		e.add(cmDataRate, bytesOfBits(cm.DataRateUp), "upstream")
	}
	for _, l := range d.Links {
		e.add(lanPortUp, l.Up, l.Port)
		e.add(lanSpeed, l.Speed, l.Port)
	}
	if d.HasConnects {
		counts := map[string]float64{}
		for _, cl := range d.Clients {
			if cl.Online {
				counts[cl.Interface]++
			}
		}
		for iface, n := range counts {
			e.add(clientCount, hitron.Some(n), iface)
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

func (c *Collector) collectChannels(e emitter) {
	d := c.data
	if d.Downstream != nil {
		e.add(dsChannels, hitron.Some(float64(len(d.Downstream))))
	}
	for _, ch := range d.Downstream {
		e.add(dsCompatPower, ch.Power, ch.Channel, ch.FrequencyRaw, ch.Port)
		e.add(dsCompatSNR, ch.SNR, ch.Channel, ch.FrequencyRaw, ch.Port)
		e.add(dsFreq, ch.Frequency, ch.Port, ch.Channel)
		e.add(dsPower, ch.Power, ch.Port, ch.Channel)
		e.add(dsSNR, ch.SNR, ch.Port, ch.Channel)
		if ch.Modulation != "" {
			e.add(dsInfo, one(), ch.Port, ch.Channel, ch.Modulation)
		}
		e.add(dsCorrected, ch.Corrected, ch.Port, ch.Channel)
		e.add(dsUncorrect, ch.Uncorrect, ch.Port, ch.Channel)
		e.add(dsOctets, ch.Octets, ch.Port, ch.Channel)
	}
	if d.Upstream != nil {
		e.add(usChannels, hitron.Some(float64(len(d.Upstream))))
	}
	for _, ch := range d.Upstream {
		e.add(usCompatPower, ch.Power, ch.Channel, ch.FrequencyRaw, ch.Port)
		e.add(usCompatBW, ch.Bandwidth, ch.Channel, ch.FrequencyRaw, ch.Port)
		e.add(usFreq, ch.Frequency, ch.Port, ch.Channel)
		e.add(usPower, ch.Power, ch.Port, ch.Channel)
		e.add(usWidth, ch.Bandwidth, ch.Port, ch.Channel)
		if ch.Mode != "" || ch.Modulation != "" {
			e.add(usInfo, one(), ch.Port, ch.Channel, ch.Mode, ch.Modulation)
		}
	}
	for _, r := range d.OFDM {
		e.add(ofdmLocked, r.PLCLock, r.Receiver, "plc")
		e.add(ofdmLocked, r.NCPLock, r.Receiver, "ncp")
		e.add(ofdmLocked, r.MDC1Lock, r.Receiver, "mdc1")
		e.add(ofdmPLCPower, r.PLCPower, r.Receiver)
		e.add(ofdmSNR, r.SNR, r.Receiver)
		e.add(ofdmFirstSub, r.FirstSubcarrier, r.Receiver)
		e.add(ofdmCorrected, r.Corrected, r.Receiver)
		e.add(ofdmUncorrect, r.Uncorrect, r.Receiver)
		e.add(ofdmOctets, r.Octets, r.Receiver)
		if r.FFT != "" && !hitron.IsPlaceholder(r.FFT) {
			e.add(ofdmInfo, one(), r.Receiver, r.FFT)
		}
	}
	for _, u := range d.OFDMA {
		e.add(ofdmaEnabled, u.Enabled, u.Channel)
		if u.Enabled.Valid && u.Enabled.V == 0 {
			continue // a disabled channel reports zeros, not measurements
		}
		e.add(ofdmaFreq, u.Frequency, u.Channel)
		e.add(ofdmaPower, u.Power, u.Channel)
		e.add(ofdmaAtten, u.DigAtten, u.Channel)
		if u.ChannelWidth.Valid {
			// channelBw is in MHz.
			e.add(ofdmaWidth, hitron.Some(u.ChannelWidth.V*1e6), u.Channel)
		}
		if u.FFT != "" {
			e.add(ofdmaInfo, one(), u.Channel, u.FFT)
		}
	}
}

// bytesOfBits converts a rate in bits per second to bytes per second.
func bytesOfBits(v hitron.Value) hitron.Value {
	if v.Valid {
		v.V /= 8
	}
	return v
}
