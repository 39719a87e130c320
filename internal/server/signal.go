package server

import (
	"fmt"
	"math"
)

// Signal health classes: the CSS classes of the modem page's value cells.
const (
	classGood     = "good"
	classMarginal = "marginal"
	classPoor     = "poor"
)

// signalRange is a usual DOCSIS operating range for one quantity: a value
// in [GoodLow, GoodHigh] is good, one in [MarginalLow, MarginalHigh] but
// outside the good band marginal, anything else poor. The modem page colours
// its cells with it and prints it as a legend; docs/metrics.md prints the
// same table (TestMetricsReferenceIsCurrent), so the three cannot disagree.
type signalRange struct {
	Quantity                  string
	Unit                      string
	GoodLow, GoodHigh         float64
	MarginalLow, MarginalHigh float64
	Source                    string
	// legend is "good …, marginal …", formatted once (withLegend) because
	// every ranged cell of every probe's modem view carries it.
	legend string
}

// withLegend returns r with its legend formatted.
func (r signalRange) withLegend() signalRange {
	r.legend = "good " + r.Good() + ", marginal " + r.Marginal()
	return r
}

// The ranges are rules of thumb for a healthy line, not limits the firmware
// enforces: treat them as defaults. Their sources are public.
var (
	downstreamPowerRange = signalRange{
		Quantity: "Downstream receive power (SC-QAM channels and OFDM PLC)", Unit: "dBmV",
		GoodLow: -10, GoodHigh: 10, MarginalLow: -15, MarginalHigh: 15,
		Source: "DOCSIS 3.0 PHY specification (CM-SP-PHYv3.0) receive range of −15 to +15 dBmV per channel, as tabulated in Cisco's " +
			"cable-modem RF troubleshooting guide (\"Determining RF or Configuration Issues on the CMTS\"); the good band keeps 5 dB of headroom to it",
	}.withLegend()
	downstreamSNRRange = signalRange{
		Quantity: "Downstream SNR / MER (SC-QAM channels and OFDM)", Unit: "dB",
		GoodLow: 35, GoodHigh: math.Inf(1), MarginalLow: 30, MarginalHigh: math.Inf(1),
		Source: "Cisco's cable-modem RF troubleshooting guide: acceptance above 35 dB for 256-QAM and above 30 dB for 64-QAM " +
			"(256-QAM needs about 6 dB more than 64-QAM); OFDM carries higher orders, so for it 35 dB is a floor rather than a target",
	}.withLegend()
	upstreamPowerRange = signalRange{
		Quantity: "Upstream transmit power (SC-QAM channels)", Unit: "dBmV",
		GoodLow: 40, GoodHigh: 50, MarginalLow: 35, MarginalHigh: 52,
		Source: "Volpe Firm, \"DOCSIS 3.1 cable modem transmit power\" (https://volpefirm.com/docsis-3-1-cable-modem-transmit-power/: " +
			"the ideal spot is 40–50 dBmV with four bonded channels) and \"Why are my DOCSIS 3.0 cable modems transmitting at 52.2 dBmV?\" " +
			"(https://volpefirm.com/docsis-3-0-cable-modems/: 52.2 dBmV is a DOCSIS 3.0 modem's maximum with four channels)",
	}.withLegend()
	signalRanges = []signalRange{downstreamPowerRange, downstreamSNRRange, upstreamPowerRange}
)

// Class returns the health class of v.
func (r signalRange) Class(v float64) string {
	switch {
	case v >= r.GoodLow && v <= r.GoodHigh:
		return classGood
	case v >= r.MarginalLow && v <= r.MarginalHigh:
		return classMarginal
	}
	return classPoor
}

// Good and Marginal describe the bands in words, for the page's legend and
// the documentation.
func (r signalRange) Good() string { return band(r.GoodLow, r.GoodHigh, r.Unit) }

// Marginal describes the marginal band (which excludes the good one).
func (r signalRange) Marginal() string { return band(r.MarginalLow, r.MarginalHigh, r.Unit) }

// Poor describes what is poor.
func (r signalRange) Poor() string {
	switch {
	case math.IsInf(r.MarginalHigh, 1):
		return fmt.Sprintf("below %s %s", num(r.MarginalLow), r.Unit)
	case math.IsInf(r.MarginalLow, -1):
		return fmt.Sprintf("above %s %s", num(r.MarginalHigh), r.Unit)
	}
	return fmt.Sprintf("below %s or above %s %s", num(r.MarginalLow), num(r.MarginalHigh), r.Unit)
}

func band(low, high float64, unit string) string {
	switch {
	case math.IsInf(high, 1):
		return fmt.Sprintf("%s %s or more", num(low), unit)
	case math.IsInf(low, -1):
		return fmt.Sprintf("%s %s or less", num(high), unit)
	}
	return fmt.Sprintf("%s to %s %s", num(low), num(high), unit)
}

func num(v float64) string { return fmt.Sprintf("%g", v) }
