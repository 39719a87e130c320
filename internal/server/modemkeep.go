package server

import (
	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
)

// This file bounds what the /modem page keeps of a probe's data until the
// page is asked for. A real modem's data fit the bounds and are kept as
// the probe read them, shared and uncopied; only what exceeds a bound is
// copied, clipped, so that a hostile modem's entry is no larger than what
// its page could show (see maxModemPages).
//
// A kept string is the modem's string when it has at most keepLen(n)
// bytes, for a view that clips it to n; otherwise a copy of its first
// n+1 bytes followed by "…". clipTo(s, n) reads no more of s than its first
// n+1 bytes and whether it is longer than n, so it cuts the kept string as
// it would have cut the modem's, and the marker keeps a clipped string from
// reading, trimmed, as a word it did not say ("success", "secret"). The
// copy holds none of the modem's page alive.

// keptData is what the /modem page keeps of one probe that read a page.
type keptData struct {
	// data has only the fields the view shows, within the bounds.
	data hitron.Data
	// truncated: rows beyond maxModemRows were dropped from a table.
	truncated bool
}

// keepLen is the most bytes a kept string may have when the view clips it
// to n: its first n+1 bytes and the marker.
func keepLen(n int) int { return n + 1 + len("…") }

// keepTextTo is s as kept for a view that clips it to n bytes.
func keepTextTo(s string, n int) string {
	if len(s) <= keepLen(n) {
		return s
	}
	return s[:n+1] + "…" // a new string: s's bytes are not kept
}

// keepText is s as kept for a view that clips it with clip.
func keepText(s string) string { return keepTextTo(s, maxModemText) }

// textsFit reports whether every s is kept as it is by keepText.
func textsFit(s ...string) bool {
	for _, t := range s {
		if len(t) > keepLen(maxModemText) {
			return false
		}
	}
	return true
}

// keepData returns what the view needs of d, within the bounds.
func keepData(d *hitron.Data) keptData {
	var k keptData
	var cut [5]bool
	k.data = hitron.Data{
		Model:  keepModel(d.Model),
		System: keepSystem(d.System),
		Init:   keepInit(d.Init),
	}
	k.data.Downstream, cut[0], _ = keepRows(d.Downstream, downstreamFits, keepDownstream, false)
	k.data.Upstream, cut[1], _ = keepRows(d.Upstream, upstreamFits, keepUpstream, false)
	k.data.OFDM, cut[2], _ = keepRows(d.OFDM, ofdmFits, keepOFDM, false)
	k.data.OFDMA, cut[3], _ = keepRows(d.OFDMA, ofdmaFits, keepOFDMA, false)
	k.data.EventLog, cut[4] = keepEventLog(d.EventLog)
	k.truncated = cut != [5]bool{}
	return k
}

// keepRows returns rows themselves (same) when they fit: at most
// maxModemRows of them, in a backing array no larger, each one fitting.
// Otherwise it returns a copy of the first maxModemRows (the last, when
// newest: an event log lists its newest last) with each row clipped, and
// whether rows were dropped.
func keepRows[T any](rows []T, fits func(*T) bool, clip func(*T) T, newest bool) (kept []T, truncated, same bool) {
	if allFit(rows, fits) {
		return rows, false, true
	}
	if len(rows) == 0 {
		return nil, false, false
	}
	n := min(len(rows), maxModemRows)
	from := 0
	if newest {
		from = len(rows) - n
	}
	kept = make([]T, n)
	for i := range kept {
		kept[i] = clip(&rows[from+i])
	}
	return kept, len(rows) > n, false
}

// allFit reports whether rows may be kept as they are.
func allFit[T any](rows []T, fits func(*T) bool) bool {
	if cap(rows) > maxModemRows {
		return false
	}
	for i := range rows {
		if !fits(&rows[i]) {
			return false
		}
	}
	return true
}

// keepModel bounds the model page.
func keepModel(m *hitron.ModelInfo) *hitron.ModelInfo {
	if m == nil || textsFit(m.ModelName, m.Vendor) {
		return m
	}
	return &hitron.ModelInfo{ModelName: keepText(m.ModelName), Vendor: keepText(m.Vendor)}
}

// keepSystem bounds the system page; a copy keeps only what the view shows.
func keepSystem(s *hitron.SystemInfo) *hitron.SystemInfo {
	if s == nil || textsFit(s.HardwareVersion, s.SoftwareVersion, s.SerialNumber, s.RFMAC, s.WANIP, s.LANIP, s.Clock) {
		return s
	}
	return &hitron.SystemInfo{HardwareVersion: keepText(s.HardwareVersion), SoftwareVersion: keepText(s.SoftwareVersion),
		Uptime: s.Uptime, WANUptime: s.WANUptime}
}

// keepInit bounds the provisioning page. A step's name is the parser's
// label, not the modem's text, and there are seven steps at most: the
// view shows them unclipped, and so they are kept.
func keepInit(in *hitron.InitStatus) *hitron.InitStatus {
	if in == nil {
		return nil
	}
	steps, _, stepsFit := keepRows(in.Steps, stepFits, keepStep, false)
	bpi, bpiFits := keepBPI(in.BPI)
	if stepsFit && bpiFits && textsFit(in.NetworkAccess, in.TrafficStatus) {
		return in
	}
	return &hitron.InitStatus{Steps: steps, BPI: bpi, NetworkAccess: keepText(in.NetworkAccess)}
}

// stepFits reports whether a provisioning step may be kept as it is.
func stepFits(st *hitron.InitStep) bool { return textsFit(st.Raw) && len(st.Name) <= maxModemText }

// keepStep is a provisioning step, its value clipped.
func keepStep(st *hitron.InitStep) hitron.InitStep {
	return hitron.InitStep{Name: keepText(st.Name), Raw: keepText(st.Raw)}
}

// keepBPI returns the BPI pairs the view's one clipped line needs: the
// pairs up to the one that takes the line past maxModemText bytes, each
// string kept as keepText keeps it; fits reports that kept is pairs
// itself, shared.
func keepBPI(pairs [][2]string) (kept [][2]string, fits bool) {
	n, line := 0, 0
	fits = cap(pairs) <= maxModemRows
	for n < len(pairs) && line <= maxModemText {
		kv := pairs[n]
		fits = fits && textsFit(kv[0], kv[1])
		line += len(kv[0]) + len(": ") + len(kv[1])
		if n > 0 {
			line += len(", ")
		}
		n++
	}
	if fits && n == len(pairs) {
		return pairs, true
	}
	kept = make([][2]string, n)
	for i, kv := range pairs[:n] {
		kept[i] = [2]string{keepText(kv[0]), keepText(kv[1])}
	}
	return kept, false
}

// downstreamFits reports whether a downstream channel may be kept as it is.
func downstreamFits(ch *hitron.DownstreamChannel) bool {
	return textsFit(ch.Port, ch.Channel, ch.FrequencyRaw, ch.Modulation)
}

// keepDownstream is what the view shows of a downstream channel, clipped.
func keepDownstream(ch *hitron.DownstreamChannel) hitron.DownstreamChannel {
	return hitron.DownstreamChannel{Port: keepText(ch.Port), Channel: keepText(ch.Channel), Frequency: ch.Frequency,
		Modulation: keepText(ch.Modulation), Power: ch.Power, SNR: ch.SNR, Corrected: ch.Corrected, Uncorrect: ch.Uncorrect}
}

// upstreamFits reports whether an upstream channel may be kept as it is.
func upstreamFits(ch *hitron.UpstreamChannel) bool {
	return textsFit(ch.Port, ch.Channel, ch.FrequencyRaw, ch.BandwidthRaw, ch.Mode, ch.Modulation)
}

// keepUpstream is what the view shows of an upstream channel, clipped.
func keepUpstream(ch *hitron.UpstreamChannel) hitron.UpstreamChannel {
	return hitron.UpstreamChannel{Port: keepText(ch.Port), Channel: keepText(ch.Channel), Frequency: ch.Frequency,
		Bandwidth: ch.Bandwidth, Mode: keepText(ch.Mode), Modulation: keepText(ch.Modulation), Power: ch.Power}
}

// ofdmFits reports whether an OFDM receiver may be kept as it is.
func ofdmFits(r *hitron.OFDMReceiver) bool { return textsFit(r.Receiver, r.FFT) }

// keepOFDM is an OFDM receiver, its strings clipped.
func keepOFDM(r *hitron.OFDMReceiver) hitron.OFDMReceiver {
	k := *r
	k.Receiver, k.FFT = keepText(r.Receiver), keepText(r.FFT)
	return k
}

// ofdmaFits reports whether an OFDMA channel may be kept as it is.
func ofdmaFits(c *hitron.OFDMAChannel) bool { return textsFit(c.Channel, c.FFT) }

// keepOFDMA is an OFDMA channel, its strings clipped.
func keepOFDMA(c *hitron.OFDMAChannel) hitron.OFDMAChannel {
	k := *c
	k.Channel, k.FFT = keepText(c.Channel), keepText(c.FFT)
	return k
}

// keepEventLog bounds the event log to the newest maxModemRows entries,
// their text to what the view shows; truncated reports entries dropped.
func keepEventLog(l *eventlog.Log) (kept *eventlog.Log, truncated bool) {
	if l == nil {
		return nil, false
	}
	entries, truncated, same := keepRows(l.Entries, eventFits, keepEvent, true)
	if same {
		return l, false
	}
	return &eventlog.Log{Entries: entries}, truncated
}

// eventFits reports whether an event may be kept as it is.
func eventFits(e *eventlog.Entry) bool {
	return len(e.Text) <= keepLen(maxEventText) && textsFit(e.EventID)
}

// keepEvent is what the view shows of an event, its text clipped.
func keepEvent(e *eventlog.Entry) eventlog.Entry {
	return eventlog.Entry{Time: e.Time, Priority: e.Priority, Text: keepTextTo(e.Text, maxEventText)}
}
