package hitron

// This file reads getCmDocsisWan.asp: the cable modem's own address and lease.

// CMStatus is getCmDocsisWan.asp (or the REST family's CM/SysInfo).
type CMStatus struct {
	IP, NetMask, Gateway string
	NetworkAccess        string
	Lease                Value
	// DataRateDown and DataRateUp are the REST family's DsDataRate and
	// UsDataRate in bits per second (invalid on the /data/ families).
	DataRateDown, DataRateUp Value
}

// docsisWanJSON is the page's JSON shape (only the fields read).
type docsisWanJSON struct {
	IP      flex `json:"CmIpAddress"`
	NetMask flex `json:"CmNetMask"`
	Gateway flex `json:"CmGateway"`
	Access  flex `json:"NetworkAccess"`
	Lease   flex `json:"CmIpLeaseDuration"`
}

// parseDocsisWanPage reads the page into d.
func parseDocsisWanPage(d *Data, body []byte, maxRows int) error {
	r, err := firstRow[docsisWanJSON](body, maxRows)
	if err != nil {
		return err
	}
	d.CM = &CMStatus{
		IP: r.IP.String(), NetMask: r.NetMask.String(), Gateway: r.Gateway.String(),
		NetworkAccess: r.Access.String(), Lease: ParseDuration(r.Lease.String()),
	}
	return nil
}
