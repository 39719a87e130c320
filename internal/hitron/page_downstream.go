package hitron

// This file reads dsinfo.asp: the DOCSIS 3.0 downstream channels.

// DownstreamChannel is one row of dsinfo.asp.
type DownstreamChannel struct {
	Port, Channel        string
	FrequencyRaw         string
	Frequency            Value
	Modulation           string
	Power, SNR           Value
	Octets               Value
	Corrected, Uncorrect Value
}

// dsJSON is the page's JSON shape (only the fields read).
type dsJSON struct {
	Port       flex `json:"portId"`
	Channel    flex `json:"channelId"`
	Frequency  flex `json:"frequency"`
	Modulation flex `json:"modulation"`
	Power      flex `json:"signalStrength"`
	SNR        flex `json:"snr"`
	Octets     flex `json:"dsoctets"`
	Corrected  flex `json:"correcteds"`
	Uncorrect  flex `json:"uncorrect"`
}

// parseDownstreamPage reads the page into d.
func parseDownstreamPage(d *Data, body []byte, maxRows int) error {
	rows, err := decodeRows[dsJSON](body, maxRows)
	if err != nil {
		return err
	}
	d.Downstream = make([]DownstreamChannel, 0, len(rows))
	for _, r := range rows {
		d.Downstream = append(d.Downstream, DownstreamChannel{
			Port: r.Port.String(), Channel: r.Channel.String(),
			FrequencyRaw: r.Frequency.String(), Frequency: ParseNumber(r.Frequency.String()),
			Modulation: modulationName(r.Modulation.String()),
			Power:      ParseNumber(r.Power.String()), SNR: ParseNumber(r.SNR.String()),
			Octets: ParseCounter(r.Octets.String()), Corrected: ParseCounter(r.Corrected.String()),
			Uncorrect: ParseCounter(r.Uncorrect.String()),
		})
	}
	return nil
}

// modulationName maps the downstream integer codes (cfstras' reading) to
// names; other values are kept as given.
func modulationName(code string) string {
	switch code {
	case "0":
		return "16QAM"
	case "1":
		return "64QAM"
	case "2":
		return "256QAM"
	case "3":
		return "1024QAM"
	case "4":
		return "32QAM"
	case "5":
		return "128QAM"
	case "6":
		return "QPSK"
	}
	return code
}
