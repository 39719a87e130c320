package hitron

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Dataset names a /data/<name>.asp endpoint.
type Dataset string

// The datasets the collector understands.
const (
	SystemModel Dataset = "system_model"
	SysInfo     Dataset = "getSysInfo"
	CMInit      Dataset = "getCMInit"
	DocsisWan   Dataset = "getCmDocsisWan"
	Downstream  Dataset = "dsinfo"
	Upstream    Dataset = "usinfo"
	OFDM        Dataset = "dsofdminfo"
	OFDMA       Dataset = "usofdminfo"
	LinkStatus  Dataset = "getLinkStatus"
	ConnectInfo Dataset = "getConnectInfo"
)

// DefaultDatasets are fetched when the configuration names none, in this
// order. getConnectInfo is left out: it is the slowest page on the device
// (nearly 2 s on a CGNV4) and only gives client counts.
var DefaultDatasets = []Dataset{SystemModel, SysInfo, CMInit, DocsisWan, Downstream, Upstream, OFDM, OFDMA, LinkStatus}

// KnownDatasets lists every dataset the parser understands.
var KnownDatasets = append(append([]Dataset{}, DefaultDatasets...), ConnectInfo)

// Path returns the URL path of the dataset.
func (d Dataset) Path() string { return "/data/" + string(d) + ".asp" }

// Data is everything parsed from one probe. Nil or empty fields were not
// fetched, not supported by the firmware, or failed to parse.
type Data struct {
	Model       *ModelInfo
	System      *SystemInfo
	Init        *InitStatus
	CM          *CMStatus
	Downstream  []DownstreamChannel
	Upstream    []UpstreamChannel
	OFDM        []OFDMReceiver
	OFDMA       []OFDMAChannel
	Links       []LinkPort
	Clients     []ConnectedClient
	HasConnects bool
}

// ModelInfo is system_model.asp.
type ModelInfo struct {
	ModelName string
	Vendor    string
}

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

// InitStep is one DOCSIS provisioning step of getCMInit.asp.
type InitStep struct {
	// Name is the metric label: hw_init, find_downstream, …
	Name string
	// Raw is the firmware's value ("Success", "Secret", "Processing..." …).
	Raw string
}

// Success reports whether the step completed; Hidden whether the ISP hides it.
func (s InitStep) Success() bool { return strings.EqualFold(strings.TrimSpace(s.Raw), "success") }

// Hidden reports whether the ISP hides the step's value ("Secret") or the
// firmware gave a placeholder.
func (s InitStep) Hidden() bool {
	return strings.EqualFold(strings.TrimSpace(s.Raw), "secret") || IsPlaceholder(s.Raw)
}

// InitStatus is getCMInit.asp.
type InitStatus struct {
	Steps []InitStep
	// BPI holds bpiStatus split into lower-cased key/value pairs
	// ("auth"→"authorized", "tek"→"operational"), in order.
	BPI           [][2]string
	NetworkAccess string
	TrafficStatus string
}

// CMStatus is getCmDocsisWan.asp.
type CMStatus struct {
	IP, NetMask, Gateway string
	NetworkAccess        string
	Lease                Value
}

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

// LinkPort is one row of getLinkStatus.asp.
type LinkPort struct {
	Port  string
	Up    Value
	Speed Value // bytes per second
}

// ConnectedClient is one row of getConnectInfo.asp.
type ConnectedClient struct {
	Interface string
	Online    bool
}

// ErrNotJSON is returned (wrapped) when a data page is not JSON of the
// expected shape.
var ErrNotJSON = errors.New("response is not the expected JSON")

// flex is a JSON value read as a trimmed string: the firmware writes
// numbers as strings, but some pages use JSON numbers; null, objects and
// arrays read as "".
type flex string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		*f = ""
	case b[0] == '"':
		if bytes.IndexByte(b[1:len(b)-1], '\\') < 0 {
			*f = flex(strings.TrimSpace(string(b[1 : len(b)-1])))
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(strings.TrimSpace(s))
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		*f = flex(b)
	default:
		*f = ""
	}
	return nil
}

func (f flex) String() string { return string(f) }

// DefaultMaxPageRows bounds the rows decoded from one page. A real modem
// lists a few dozen channels and at most a few hundred LAN clients.
const DefaultMaxPageRows = 1024

// ErrTooManyRows is returned (wrapped) when a page lists more rows than
// the limit. It wraps ErrTooLarge.
var ErrTooManyRows = fmt.Errorf("%w: too many rows", ErrTooLarge)

// decodeRows decodes a page into rows of T, at most maxRows of them (0:
// DefaultMaxPageRows). It accepts an array of objects or a single object;
// array elements that are not objects are skipped but counted. A page
// over the limit is ErrTooManyRows, found before more than maxRows rows
// are decoded.
func decodeRows[T any](body []byte, maxRows int) ([]T, error) {
	if maxRows <= 0 {
		maxRows = DefaultMaxPageRows
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrNotJSON)
	}
	rows, err := decodeRowsJSON[T](body, maxRows)
	if errors.Is(err, ErrNotJSON) {
		// Firmware that prints a C float may write a bare nan or inf,
		// which is not JSON: read those as null (the sample is dropped)
		// rather than losing the page.
		if clean, changed := nullNonFinite(body); changed {
			return decodeRowsJSON[T](clean, maxRows)
		}
	}
	return rows, err
}

// decodeRowsJSON is decodeRows on a trimmed, non-empty body.
func decodeRowsJSON[T any](body []byte, maxRows int) ([]T, error) {
	if body[0] == '{' {
		var row T
		if err := json.Unmarshal(body, &row); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
		return []T{row}, nil
	}
	// An array has at most one element more than the body has commas,
	// which is cheap to count: a page that cannot exceed the limit (every
	// real one) is decoded in one pass, any other element by element.
	if bytes.Count(body, []byte{','}) < maxRows {
		return decodeArray[T](body)
	}
	return decodeStream[T](body, maxRows)
}

// decodeArray decodes an array in one pass, or element by element,
// skipping what is not an object, when the one pass fails.
func decodeArray[T any](body []byte) ([]T, error) {
	// The common case, an array of objects, decodes in one pass; null
	// elements come out nil and are skipped.
	var ptrs []*T
	if err := json.Unmarshal(body, &ptrs); err == nil {
		rows := make([]T, 0, len(ptrs))
		for _, p := range ptrs {
			if p != nil {
				rows = append(rows, *p)
			}
		}
		return rows, nil
	}
	// Otherwise decode element by element, skipping what is not an object.
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	rows := make([]T, 0, len(raw))
	for _, el := range raw {
		if el = bytes.TrimSpace(el); len(el) == 0 || el[0] != '{' {
			continue
		}
		var row T
		if err := json.Unmarshal(el, &row); err != nil {
			continue
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// decodeStream decodes an array element by element, as decodeArray does,
// and fails at the first element past maxRows: a hostile page costs no
// more than maxRows rows.
func decodeStream[T any](body []byte, maxRows int) ([]T, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("%w: not an array of objects", ErrNotJSON)
	}
	var rows []T
	for n := 0; dec.More(); n++ {
		if n == maxRows {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyRows, maxRows)
		}
		// A null element comes out nil and is skipped; one that is not an
		// object (or does not fit T) fails with a type error, after which
		// the decoder stands past it.
		var p *T
		if err := dec.Decode(&p); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				continue
			}
			return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
		if p != nil {
			rows = append(rows, *p)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return nil, fmt.Errorf("%w: unterminated array", ErrNotJSON)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the array", ErrNotJSON)
	}
	return rows, nil
}

// nonFinite are the bare words C printf and friends write for non-finite
// floats, lower-cased.
var nonFinite = map[string]bool{"nan": true, "-nan": true, "+nan": true, "inf": true, "-inf": true, "+inf": true,
	"infinity": true, "-infinity": true, "+infinity": true}

// nullNonFinite replaces bare non-finite words outside JSON strings with
// null, and reports whether it replaced any.
func nullNonFinite(body []byte) ([]byte, bool) {
	var out []byte
	inString, escaped := false, false
	last := 0
	for i := 0; i < len(body); i++ {
		c := body[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		if !(c == '-' || c == '+' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			continue
		}
		j := i
		for j < len(body) && (body[j] == '-' || body[j] == '+' || body[j] >= 'a' && body[j] <= 'z' || body[j] >= 'A' && body[j] <= 'Z') {
			j++
		}
		if nonFinite[strings.ToLower(string(body[i:j]))] {
			out = append(out, body[last:i]...)
			out = append(out, "null"...)
			last = j
		}
		i = j - 1
	}
	if out == nil {
		return body, false
	}
	return append(out, body[last:]...), true
}

// firstRow decodes a single-record page.
func firstRow[T any](body []byte, maxRows int) (T, error) {
	rows, err := decodeRows[T](body, maxRows)
	if err != nil {
		var zero T
		return zero, err
	}
	if len(rows) == 0 {
		var zero T
		return zero, fmt.Errorf("%w: no record", ErrNotJSON)
	}
	return rows[0], nil
}

// The pages' JSON shapes (only the fields the exporter reads).
type (
	modelJSON struct {
		ModelName  flex `json:"modelName"`
		VendorName flex `json:"vendorname"`
	}
	sysInfoJSON struct {
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
	cmInitJSON struct {
		HWInit         *flex `json:"hwInit"`
		FindDownstream *flex `json:"findDownstream"`
		Ranging        *flex `json:"ranging"`
		DHCP           *flex `json:"dhcp"`
		TimeOfDay      *flex `json:"timeOfday"`
		DownloadCfg    *flex `json:"downloadCfg"`
		Registration   *flex `json:"registration"`
		BPIStatus      flex  `json:"bpiStatus"`
		NetworkAccess  flex  `json:"networkAccess"`
		TrafficStatus  flex  `json:"trafficStatus"`
	}
	docsisWanJSON struct {
		IP      flex `json:"CmIpAddress"`
		NetMask flex `json:"CmNetMask"`
		Gateway flex `json:"CmGateway"`
		Access  flex `json:"NetworkAccess"`
		Lease   flex `json:"CmIpLeaseDuration"`
	}
	dsJSON struct {
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
	usJSON struct {
		Port      flex `json:"portId"`
		Channel   flex `json:"channelId"`
		Frequency flex `json:"frequency"`
		Bandwidth flex `json:"bandwidth"`
		Mode      flex `json:"scdmaMode"`
		ModType   flex `json:"modtype"`
		Power     flex `json:"signalStrength"`
	}
	ofdmJSON struct {
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
	ofdmaJSON struct {
		Channel     flex `json:"uschindex"`
		State       flex `json:"state"`
		Frequency   flex `json:"frequency"`
		DigAtten    flex `json:"digAtten"`
		ChannelBw   flex `json:"channelBw"`
		RepPower    flex `json:"repPower"`
		RepPower1_6 flex `json:"repPower1_6"`
		FFT         flex `json:"fftVal"`
	}
	linkJSON struct {
		Status flex `json:"LinkStatus"`
		Speed  flex `json:"LinkSpeed"`
	}
	connectJSON struct {
		Interface flex `json:"interface"`
		Online    flex `json:"online"`
	}
)

// Parse decodes one dataset's body into d, with at most
// DefaultMaxPageRows rows.
func (d *Data) Parse(ds Dataset, body []byte) error {
	return d.ParseLimit(ds, body, DefaultMaxPageRows)
}

// ParseLimit decodes one dataset's body into d. A page of more than
// maxRows rows (0: DefaultMaxPageRows), or a bpiStatus of more than
// maxRows pairs, is ErrTooManyRows and leaves d as it was.
func (d *Data) ParseLimit(ds Dataset, body []byte, maxRows int) error {
	if maxRows <= 0 {
		maxRows = DefaultMaxPageRows
	}
	switch ds {
	case SystemModel:
		r, err := firstRow[modelJSON](body, maxRows)
		if err != nil {
			return err
		}
		d.Model = &ModelInfo{ModelName: r.ModelName.String(), Vendor: r.VendorName.String()}
	case SysInfo:
		r, err := firstRow[sysInfoJSON](body, maxRows)
		if err != nil {
			return err
		}
		d.System = parseSysInfo(r)
	case CMInit:
		r, err := firstRow[cmInitJSON](body, maxRows)
		if err != nil {
			return err
		}
		if strings.Count(r.BPIStatus.String(), ",") >= maxRows {
			return fmt.Errorf("%w: bpiStatus of more than %d pairs", ErrTooManyRows, maxRows)
		}
		d.Init = parseCMInit(r)
	case DocsisWan:
		r, err := firstRow[docsisWanJSON](body, maxRows)
		if err != nil {
			return err
		}
		d.CM = &CMStatus{
			IP: r.IP.String(), NetMask: r.NetMask.String(), Gateway: r.Gateway.String(),
			NetworkAccess: r.Access.String(), Lease: ParseDuration(r.Lease.String()),
		}
	case Downstream:
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
	case Upstream:
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
	case OFDM:
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
	case OFDMA:
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
	case LinkStatus:
		rows, err := decodeRows[linkJSON](body, maxRows)
		if err != nil {
			return err
		}
		d.Links = make([]LinkPort, 0, len(rows))
		for i, r := range rows {
			lp := LinkPort{Port: strconv.Itoa(i + 1)}
			switch strings.ToLower(r.Status.String()) {
			case "up":
				lp.Up = Some(1)
			case "down":
				lp.Up = Some(0)
			}
			if v := ParseNumber(strings.TrimSuffix(strings.ToLower(r.Speed.String()), "mbps")); v.Valid {
				lp.Speed = Some(v.V * 1e6 / 8)
			}
			d.Links = append(d.Links, lp)
		}
	case ConnectInfo:
		rows, err := decodeRows[connectJSON](body, maxRows)
		if err != nil {
			return err
		}
		d.HasConnects = true
		d.Clients = make([]ConnectedClient, 0, len(rows))
		for _, r := range rows {
			d.Clients = append(d.Clients, ConnectedClient{
				Interface: r.Interface.String(),
				Online:    strings.EqualFold(r.Online.String(), "active"),
			})
		}
	default:
		return fmt.Errorf("unknown dataset %q", ds)
	}
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

func parseCMInit(r cmInitJSON) *InitStatus {
	st := &InitStatus{NetworkAccess: r.NetworkAccess.String(), TrafficStatus: r.TrafficStatus.String()}
	steps := []struct {
		name string
		v    *flex
	}{
		{"hw_init", r.HWInit}, {"find_downstream", r.FindDownstream}, {"ranging", r.Ranging}, {"dhcp", r.DHCP},
		{"time_of_day", r.TimeOfDay}, {"download_config", r.DownloadCfg}, {"registration", r.Registration},
	}
	for _, step := range steps {
		if step.v != nil {
			st.Steps = append(st.Steps, InitStep{Name: step.name, Raw: step.v.String()})
		}
	}
	st.BPI = parseBPI(r.BPIStatus.String())
	return st
}

// parseBPI splits "AUTH:authorized, TEK:operational" into lower-cased pairs.
// Keys that are not valid label names are dropped.
func parseBPI(s string) [][2]string {
	var out [][2]string
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.ToLower(strings.TrimSpace(v))
		if !labelName(k) || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, [2]string{k, v})
	}
	return out
}

func labelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
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

func yesNo(s string) Value {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "YES", "Y", "1", "TRUE", "LOCKED":
		return Some(1)
	case "NO", "N", "0", "FALSE", "UNLOCKED":
		return Some(0)
	}
	return Value{}
}

func placeholderToEmpty(s string) string {
	if IsPlaceholder(s) {
		return ""
	}
	return s
}
