package hitron

// This file reads getSysInfo.asp: identity, uptimes, clock and byte counters.

// SystemInfo is getSysInfo.asp.
type SystemInfo struct {
	HardwareVersion string
	SoftwareVersion string
	SerialNumber    string
	RFMAC           string
	WANIP           string
	LANIP           string
	// Uptime is systemUptime (CGNV4, CODA), in seconds.
	Uptime Value
	// LANUptime and WANUptime are the CGN3/CGNM variant's separate uptimes.
	LANUptime Value
	WANUptime Value
	// Clock is the raw systemTime string (parsed by the collector, which
	// knows the target's time zone).
	Clock string
	// Byte counters from LRecPkt, LSendPkt, WRecPkt, WSendPkt.
	LANReceived, LANSent, WANReceived, WANSent Value
}

// sysInfoJSON is the page's JSON shape (only the fields read).
type sysInfoJSON struct {
	HWVersion       flex `json:"hwVersion"`
	SWVersion       flex `json:"swVersion"`
	SerialNumber    flex `json:"serialNumber"`
	RFMac           flex `json:"rfMac"`
	WANIP           flex `json:"wanIp"`
	LANIP           flex `json:"lanIp"`
	SystemUptime    flex `json:"systemUptime"`
	SystemLanUptime flex `json:"systemLanUptime"`
	SystemWanUptime flex `json:"systemWanUptime"`
	SystemTime      flex `json:"systemTime"`
	LRecPkt         flex `json:"LRecPkt"`
	LSendPkt        flex `json:"LSendPkt"`
	WRecPkt         flex `json:"WRecPkt"`
	WSendPkt        flex `json:"WSendPkt"`
}

// parseSysInfoPage reads the page into d.
func parseSysInfoPage(d *Data, body []byte, maxRows int) error {
	r, err := firstRow[sysInfoJSON](body, maxRows)
	if err != nil {
		return err
	}
	d.System = parseSysInfo(r)
	return nil
}

func parseSysInfo(r sysInfoJSON) *SystemInfo {
	return &SystemInfo{
		HardwareVersion: r.HWVersion.String(), SoftwareVersion: r.SWVersion.String(),
		SerialNumber: r.SerialNumber.String(), RFMAC: r.RFMac.String(),
		WANIP: placeholderToEmpty(r.WANIP.String()), LANIP: placeholderToEmpty(r.LANIP.String()),
		Uptime:    ParseDuration(r.SystemUptime.String()),
		LANUptime: ParseDuration(r.SystemLanUptime.String()), WANUptime: ParseDuration(r.SystemWanUptime.String()),
		Clock:       r.SystemTime.String(),
		LANReceived: ParseBytes(r.LRecPkt.String()), LANSent: ParseBytes(r.LSendPkt.String()),
		WANReceived: ParseBytes(r.WRecPkt.String()), WANSent: ParseBytes(r.WSendPkt.String()),
	}
}

func placeholderToEmpty(s string) string {
	if IsPlaceholder(s) {
		return ""
	}
	return s
}
