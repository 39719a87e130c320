package hitron

import "strings"

// This file reads usofdminfo.asp: the DOCSIS 3.1 OFDMA upstream channels.

// OFDMAChannel is one row of usofdminfo.asp (DOCSIS 3.1).
type OFDMAChannel struct {
	Channel      string
	Enabled      Value
	Frequency    Value
	DigAtten     Value
	ChannelWidth Value
	Power        Value
	FFT          string
}

// ofdmaJSON is the page's JSON shape (only the fields read).
type ofdmaJSON struct {
	Channel     flex `json:"uschindex"`
	State       flex `json:"state"`
	Frequency   flex `json:"frequency"`
	DigAtten    flex `json:"digAtten"`
	ChannelBw   flex `json:"channelBw"`
	RepPower    flex `json:"repPower"`
	RepPower1_6 flex `json:"repPower1_6"`
	FFT         flex `json:"fftVal"`
}

// parseOFDMAPage reads the page into d.
func parseOFDMAPage(d *Data, body []byte, maxRows int) error {
	rows, err := decodeRows[ofdmaJSON](body, maxRows)
	if err != nil {
		return err
	}
	d.OFDMA = make([]OFDMAChannel, 0, len(rows))
	for _, r := range rows {
		ch := OFDMAChannel{
			Channel: r.Channel.String(), Frequency: ParseNumber(r.Frequency.String()),
			DigAtten: ParseNumber(r.DigAtten.String()), ChannelWidth: ParseNumber(r.ChannelBw.String()),
			FFT: r.FFT.String(),
		}
		switch strings.ToUpper(r.State.String()) {
		case "ENABLED", "ENABLE":
			ch.Enabled = Some(1)
		case "DISABLED", "DISABLE":
			ch.Enabled = Some(0)
		}
		// repPower1_6 is in quarter-dBmV (hitron_coda); 0 while disabled.
		if p := ParseNumber(r.RepPower1_6.String()); p.Valid {
			ch.Power = Some(p.V / 4)
		} else if p := ParseNumber(r.RepPower.String()); p.Valid {
			ch.Power = p
		}
		d.OFDMA = append(d.OFDMA, ch)
	}
	return nil
}
