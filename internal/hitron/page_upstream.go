package hitron

// This file reads usinfo.asp: the DOCSIS 3.0 upstream channels.

// UpstreamChannel is one row of usinfo.asp.
type UpstreamChannel struct {
	Port, Channel string
	FrequencyRaw  string
	Frequency     Value
	BandwidthRaw  string
	Bandwidth     Value
	Mode          string
	Modulation    string
	Power         Value
}

// usJSON is the page's JSON shape (only the fields read).
type usJSON struct {
	Port      flex `json:"portId"`
	Channel   flex `json:"channelId"`
	Frequency flex `json:"frequency"`
	Bandwidth flex `json:"bandwidth"`
	Mode      flex `json:"scdmaMode"`
	ModType   flex `json:"modtype"`
	Power     flex `json:"signalStrength"`
}

// parseUpstreamPage reads the page into d.
func parseUpstreamPage(d *Data, body []byte, maxRows int) error {
	rows, err := decodeRows[usJSON](body, maxRows)
	if err != nil {
		return err
	}
	d.Upstream = make([]UpstreamChannel, 0, len(rows))
	for _, r := range rows {
		d.Upstream = append(d.Upstream, UpstreamChannel{
			Port: r.Port.String(), Channel: r.Channel.String(),
			FrequencyRaw: r.Frequency.String(), Frequency: ParseNumber(r.Frequency.String()),
			BandwidthRaw: r.Bandwidth.String(), Bandwidth: ParseNumber(r.Bandwidth.String()),
			Mode: r.Mode.String(), Modulation: r.ModType.String(),
			Power: ParseNumber(r.Power.String()),
		})
	}
	return nil
}
