package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
)

// The caps on what one modem's view holds (see maxModemPages).
const (
	maxModemRows = 64 // rows per table; DOCSIS 3.1 modems have at most 32 SC-QAM downstream channels
	maxModemText = 64 // bytes per string the modem sent
)

// modemView is one probe's data, formatted for the /modem page. Every
// string in it came from the modem or was formatted from its numbers, and
// is escaped by html/template when the page is rendered.
type modemView struct {
	ReadAt             time.Time
	Model, ModelNote   string
	Vendor             string
	Firmware, Hardware string
	Uptime             string
	Steps              []stepView
	BPI, NetworkAccess string
	Downstream         []downstreamView
	Upstream           []upstreamView
	OFDM               []ofdmView
	OFDMA              []ofdmaView
	// RatesSince is when the previous probe read the counters the rates
	// are computed against (zero: this is the first probe).
	RatesSince time.Time
	Interval   time.Duration
	// Events is the modem's event log, newest first (the rest dialect's
	// CM/Log, /data/status_log.asp where the firmware has it); the page
	// shows the section only when it is not empty.
	Events    []eventView
	Truncated bool
}

// cell is one coloured value.
type cell struct {
	Text  string
	Class string // classGood, classMarginal, classPoor or ""
	Title string
}

type stepView struct {
	Name, Value, Class string
}

type downstreamView struct {
	Port, Channel, Frequency, Modulation string
	Power, SNR                           cell
	Corrected, Uncorrectable             cell
	CorrectedRate, UncorrectableRate     cell
}

type upstreamView struct {
	Port, Channel, Frequency, Bandwidth, Mode, Modulation string
	Power                                                 cell
}

type ofdmView struct {
	Receiver, FFT, FirstSubcarrier, Locks string
	PLCPower, MER                         cell
	Corrected, Uncorrectable              cell
	CorrectedRate, UncorrectableRate      cell
}

type ofdmaView struct {
	Channel, Enabled, Frequency, Width, FFT, Power string
}

type eventView struct {
	Time, Priority, Text string
}

// buildModemView formats d, read at readAt; prev are the previous probe's
// codeword counters (read at prevAt, see readCounters) for the rates, nil
// for the first probe.
func buildModemView(d *hitron.Data, prev map[string]codewords, prevAt, readAt time.Time) *modemView {
	v := &modemView{ReadAt: readAt}
	interval := readAt.Sub(prevAt)
	if prev != nil && interval > 0 {
		v.RatesSince, v.Interval = prevAt, interval
	} else {
		prev = nil
	}
	v.Model, v.ModelNote = modelName(d)
	if d.Model != nil {
		v.Vendor = clip(d.Model.Vendor)
	}
	if s := d.System; s != nil {
		v.Firmware, v.Hardware = clip(s.SoftwareVersion), clip(s.HardwareVersion)
		switch {
		case s.Uptime.Valid:
			v.Uptime = formatUptime(s.Uptime.V)
		case s.WANUptime.Valid:
			v.Uptime = formatUptime(s.WANUptime.V) + " (WAN)"
		}
	}
	if in := d.Init; in != nil {
		for _, st := range in.Steps {
			sv := stepView{Name: strings.ReplaceAll(st.Name, "_", " "), Value: clip(st.Raw)}
			switch {
			case st.Success():
				sv.Class = classGood
			case st.Hidden():
			default:
				sv.Class = classPoor
			}
			v.Steps = append(v.Steps, sv)
		}
		var bpi []string
		for _, kv := range in.BPI {
			bpi = append(bpi, kv[0]+": "+kv[1])
		}
		v.BPI = clip(strings.Join(bpi, ", "))
		v.NetworkAccess = clip(in.NetworkAccess)
	}
	rows := func(n int) int {
		if n > maxModemRows {
			v.Truncated = true
			return maxModemRows
		}
		return n
	}
	for _, ch := range d.Downstream[:rows(len(d.Downstream))] {
		key, cw := downstreamCounters(&ch)
		row := downstreamView{
			Port: clip(ch.Port), Channel: clip(ch.Channel), Frequency: hertz(ch.Frequency), Modulation: clip(ch.Modulation),
			Power: ranged(ch.Power, downstreamPowerRange), SNR: ranged(ch.SNR, downstreamSNRRange),
			Corrected: count(ch.Corrected), Uncorrectable: count(ch.Uncorrect),
		}
		row.CorrectedRate, row.UncorrectableRate = rates(prev, key, cw, interval)
		v.Downstream = append(v.Downstream, row)
	}
	for _, ch := range d.Upstream[:rows(len(d.Upstream))] {
		v.Upstream = append(v.Upstream, upstreamView{
			Port: clip(ch.Port), Channel: clip(ch.Channel), Frequency: hertz(ch.Frequency), Bandwidth: hertz(ch.Bandwidth),
			Mode: clip(ch.Mode), Modulation: clip(ch.Modulation), Power: ranged(ch.Power, upstreamPowerRange),
		})
	}
	for _, r := range d.OFDM[:rows(len(d.OFDM))] {
		key, cw := ofdmCounters(&r)
		row := ofdmView{
			Receiver: clip(r.Receiver), FFT: clip(r.FFT), FirstSubcarrier: hertz(r.FirstSubcarrier),
			Locks:    fmt.Sprintf("PLC %s, NCP %s, MDC1 %s", yesNo(r.PLCLock), yesNo(r.NCPLock), yesNo(r.MDC1Lock)),
			PLCPower: ranged(r.PLCPower, downstreamPowerRange), MER: ranged(r.SNR, downstreamSNRRange),
			Corrected: count(r.Corrected), Uncorrectable: count(r.Uncorrect),
		}
		row.CorrectedRate, row.UncorrectableRate = rates(prev, key, cw, interval)
		v.OFDM = append(v.OFDM, row)
	}
	for _, c := range d.OFDMA[:rows(len(d.OFDMA))] {
		v.OFDMA = append(v.OFDMA, ofdmaView{
			Channel: clip(c.Channel), Enabled: yesNo(c.Enabled), Frequency: hertz(c.Frequency), Width: hertz(c.ChannelWidth),
			FFT: clip(c.FFT), Power: unit(c.Power, "dBmV"),
		})
	}
	if d.EventLog != nil {
		entries := d.EventLog.Entries
		for i := len(entries) - 1; i >= 0 && len(v.Events) < maxModemRows; i-- {
			e := entries[i]
			ev := eventView{Priority: e.Priority.String(), Text: clipTo(e.Text, maxEventText)}
			if !e.Time.IsZero() {
				ev.Time = e.Time.Format("2006-01-02 15:04:05")
			}
			v.Events = append(v.Events, ev)
		}
		v.Truncated = v.Truncated || len(entries) > maxModemRows
	}
	return v
}

// readCounters are the codeword counters of one read's rows, by row key:
// the next read's rates are computed against them.
func readCounters(downstream []hitron.DownstreamChannel, ofdm []hitron.OFDMReceiver) map[string]codewords {
	counters := map[string]codewords{}
	for i := range downstream[:min(len(downstream), maxModemRows)] {
		key, cw := downstreamCounters(&downstream[i])
		counters[key] = cw
	}
	for i := range ofdm[:min(len(ofdm), maxModemRows)] {
		key, cw := ofdmCounters(&ofdm[i])
		counters[key] = cw
	}
	return counters
}

// downstreamCounters are a downstream channel's row key and counters.
func downstreamCounters(ch *hitron.DownstreamChannel) (string, codewords) {
	return "ds/" + clip(ch.Port) + "/" + clip(ch.Channel), codewords{ch.Corrected, ch.Uncorrect}
}

// ofdmCounters are an OFDM receiver's row key and counters.
func ofdmCounters(r *hitron.OFDMReceiver) (string, codewords) {
	return "ofdm/" + clip(r.Receiver), codewords{r.Corrected, r.Uncorrect}
}

// maxEventText bounds an event's text on the page (its DOCSIS text and the
// MAC addresses the modem appends).
const maxEventText = 256

// modelName is the model the firmware reports, or, when it has no
// system_model page (CODA-45), the family its firmware version belongs
// to, with a note saying so.
func modelName(d *hitron.Data) (name, note string) {
	if d.Model != nil && d.Model.ModelName != "" {
		return clip(d.Model.ModelName), ""
	}
	if d.System != nil && strings.HasPrefix(d.System.SoftwareVersion, "7.") {
		return "CODA", "inferred: the modem has no system_model page, and its firmware " + clip(d.System.SoftwareVersion) + " is of the CODA family's 7.x line"
	}
	return "unknown", "the modem reported no model (no system_model page)"
}

// rates are the corrected and uncorrectable codewords per second since the
// previous probe.
func rates(prev map[string]codewords, key string, now codewords, interval time.Duration) (corrected, uncorrectable cell) {
	if prev == nil {
		return cell{Text: "–", Title: "first probe of this modem: no previous counters"}, cell{Text: "–", Title: "first probe of this modem: no previous counters"}
	}
	p, ok := prev[key]
	if !ok {
		return cell{Text: "–", Title: "the channel was not there at the previous probe"}, cell{Text: "–", Title: "the channel was not there at the previous probe"}
	}
	corrected = rate(p.corrected, now.corrected, interval)
	uncorrectable = rate(p.uncorrectable, now.uncorrectable, interval)
	if uncorrectable.Class == classMarginal {
		uncorrectable.Class = classPoor // a lost codeword is lost data
	}
	return corrected, uncorrectable
}

func rate(before, after hitron.Value, interval time.Duration) cell {
	switch {
	case !before.Valid || !after.Valid:
		return cell{Text: "–", Title: "counter not reported"}
	case after.V < before.V:
		return cell{Text: "reset", Title: "the counter went down: the modem restarted or the counter wrapped"}
	}
	delta := after.V - before.V
	c := cell{Text: fmt.Sprintf("+%s (%s/s)", strconv.FormatFloat(delta, 'f', -1, 64), strconv.FormatFloat(delta/interval.Seconds(), 'f', 2, 64)), Class: classGood}
	if delta > 0 {
		c.Class = classMarginal
	}
	return c
}

// ranged formats v against r.
func ranged(v hitron.Value, r signalRange) cell {
	if !v.Valid {
		return cell{Text: "–", Title: "not reported"}
	}
	c := r.Class(v.V)
	return cell{Text: strconv.FormatFloat(v.V, 'f', 1, 64), Class: c, Title: c + ": " + r.legend}
}

func count(v hitron.Value) cell {
	if !v.Valid {
		return cell{Text: "–"}
	}
	return cell{Text: strconv.FormatFloat(v.V, 'f', -1, 64)}
}

func unit(v hitron.Value, u string) string {
	if !v.Valid {
		return "–"
	}
	return strconv.FormatFloat(v.V, 'f', 1, 64) + " " + u
}

func hertz(v hitron.Value) string {
	if !v.Valid {
		return "–"
	}
	return strconv.FormatFloat(v.V/1e6, 'f', 3, 64) + " MHz"
}

func yesNo(v hitron.Value) string {
	switch {
	case !v.Valid:
		return "–"
	case v.V != 0:
		return "yes"
	}
	return "no"
}

func formatUptime(seconds float64) string {
	if seconds < 0 || math.IsInf(seconds, 0) || seconds > 1e12 {
		return "–"
	}
	d := time.Duration(seconds) * time.Second
	days := int64(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	return fmt.Sprintf("%dd %02dh %02dm %02ds", days, int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second))
}

// clip bounds a string the modem sent to maxModemText bytes, on a rune
// boundary.
func clip(s string) string { return clipTo(s, maxModemText) }

// clipTo cuts s to at most n bytes, at a character boundary.
func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
