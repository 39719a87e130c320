package hitron

import "strings"

// This file reads dsofdminfo.asp: the DOCSIS 3.1 OFDM downstream receivers.

// OFDMReceiver is one row of dsofdminfo.asp (DOCSIS 3.1).
type OFDMReceiver struct {
	Receiver             string
	FFT                  string
	FirstSubcarrier      Value
	PLCLock, NCPLock     Value
	MDC1Lock             Value
	PLCPower, SNR        Value
	Octets               Value
	Corrected, Uncorrect Value
}

// ofdmJSON is the page's JSON shape (only the fields read).
type ofdmJSON struct {
	Receiver  flex `json:"receive"`
	FFT       flex `json:"ffttype"`
	FirstSub  flex `json:"Subcarr0freqFreq"`
	PLCLock   flex `json:"plclock"`
	NCPLock   flex `json:"ncplock"`
	MDC1Lock  flex `json:"mdc1lock"`
	PLCPower  flex `json:"plcpower"`
	SNR       flex `json:"SNR"`
	Octets    flex `json:"dsoctets"`
	Corrected flex `json:"correcteds"`
	Uncorrect flex `json:"uncorrect"`
}

// parseOFDMPage reads the page into d.
func parseOFDMPage(d *Data, body []byte, maxRows int) error {
	rows, err := decodeRows[ofdmJSON](body, maxRows)
	if err != nil {
		return err
	}
	d.OFDM = make([]OFDMReceiver, 0, len(rows))
	for _, r := range rows {
		d.OFDM = append(d.OFDM, OFDMReceiver{
			Receiver: r.Receiver.String(), FFT: r.FFT.String(),
			FirstSubcarrier: ParseNumber(r.FirstSub.String()),
			PLCLock:         yesNo(r.PLCLock.String()), NCPLock: yesNo(r.NCPLock.String()), MDC1Lock: yesNo(r.MDC1Lock.String()),
			PLCPower: ParseNumber(r.PLCPower.String()), SNR: ParseNumber(r.SNR.String()),
			Octets: ParseCounter(r.Octets.String()), Corrected: ParseCounter(r.Corrected.String()),
			Uncorrect: ParseCounter(r.Uncorrect.String()),
		})
	}
	return nil
}

func yesNo(s string) Value {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "YES", "Y", "1", "TRUE", "LOCKED":
		return Some(1)
	case "NO", "N", "0", "FALSE", "UNLOCKED":
		return Some(0)
	}
	return Value{}
}
