package hitron

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// record is one JSON object of a data page, values kept raw.
type record map[string]json.RawMessage

// str returns the field as a trimmed string; JSON numbers are formatted,
// anything else is "".
func (r record) str(key string) string {
	raw, ok := r[key]
	if !ok {
		return ""
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return strings.TrimSpace(s)
		}
		return ""
	}
	if _, err := strconv.ParseFloat(string(raw), 64); err == nil {
		return string(raw)
	}
	return ""
}

// decodeRecords accepts an array of objects, a single object, or an array
// whose non-object elements are skipped.
func decodeRecords(body []byte) ([]record, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrNotJSON)
	}
	if body[0] == '{' {
		var r record
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
		return []record{r}, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	out := make([]record, 0, len(raw))
	for _, el := range raw {
		var r record
		if json.Unmarshal(el, &r) == nil && r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// first decodes a single-record page.
func first(body []byte) (record, error) {
	recs, err := decodeRecords(body)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: no record", ErrNotJSON)
	}
	return recs[0], nil
}

// Parse decodes one dataset's body into d.
func (d *Data) Parse(ds Dataset, body []byte) error {
	switch ds {
	case SystemModel:
		r, err := first(body)
		if err != nil {
			return err
		}
		d.Model = &ModelInfo{ModelName: r.str("modelName"), Vendor: r.str("vendorname")}
	case SysInfo:
		r, err := first(body)
		if err != nil {
			return err
		}
		d.System = parseSysInfo(r)
	case CMInit:
		r, err := first(body)
		if err != nil {
			return err
		}
		d.Init = parseCMInit(r)
	case DocsisWan:
		r, err := first(body)
		if err != nil {
			return err
		}
		d.CM = &CMStatus{
			IP: r.str("CmIpAddress"), NetMask: r.str("CmNetMask"), Gateway: r.str("CmGateway"),
			NetworkAccess: r.str("NetworkAccess"), Lease: ParseDuration(r.str("CmIpLeaseDuration")),
		}
	case Downstream:
		recs, err := decodeRecords(body)
		if err != nil {
			return err
		}
		d.Downstream = make([]DownstreamChannel, 0, len(recs))
		for _, r := range recs {
			d.Downstream = append(d.Downstream, DownstreamChannel{
				Port: r.str("portId"), Channel: r.str("channelId"),
				FrequencyRaw: r.str("frequency"), Frequency: ParseNumber(r.str("frequency")),
				Modulation: modulationName(r.str("modulation")),
				Power:      ParseNumber(r.str("signalStrength")), SNR: ParseNumber(r.str("snr")),
				Octets: ParseCounter(r.str("dsoctets")), Corrected: ParseCounter(r.str("correcteds")),
				Uncorrect: ParseCounter(r.str("uncorrect")),
			})
		}
	case Upstream:
		recs, err := decodeRecords(body)
		if err != nil {
			return err
		}
		d.Upstream = make([]UpstreamChannel, 0, len(recs))
		for _, r := range recs {
			d.Upstream = append(d.Upstream, UpstreamChannel{
				Port: r.str("portId"), Channel: r.str("channelId"),
				FrequencyRaw: r.str("frequency"), Frequency: ParseNumber(r.str("frequency")),
				BandwidthRaw: r.str("bandwidth"), Bandwidth: ParseNumber(r.str("bandwidth")),
				Mode: r.str("scdmaMode"), Modulation: r.str("modtype"),
				Power: ParseNumber(r.str("signalStrength")),
			})
		}
	case OFDM:
		recs, err := decodeRecords(body)
		if err != nil {
			return err
		}
		d.OFDM = make([]OFDMReceiver, 0, len(recs))
		for _, r := range recs {
			d.OFDM = append(d.OFDM, OFDMReceiver{
				Receiver: r.str("receive"), FFT: r.str("ffttype"),
				FirstSubcarrier: ParseNumber(r.str("Subcarr0freqFreq")),
				PLCLock:         yesNo(r.str("plclock")), NCPLock: yesNo(r.str("ncplock")), MDC1Lock: yesNo(r.str("mdc1lock")),
				PLCPower: ParseNumber(r.str("plcpower")), SNR: ParseNumber(r.str("SNR")),
				Octets: ParseCounter(r.str("dsoctets")), Corrected: ParseCounter(r.str("correcteds")),
				Uncorrect: ParseCounter(r.str("uncorrect")),
			})
		}
	case OFDMA:
		recs, err := decodeRecords(body)
		if err != nil {
			return err
		}
		d.OFDMA = make([]OFDMAChannel, 0, len(recs))
		for _, r := range recs {
			ch := OFDMAChannel{
				Channel: r.str("uschindex"), Frequency: ParseNumber(r.str("frequency")),
				DigAtten: ParseNumber(r.str("digAtten")), ChannelWidth: ParseNumber(r.str("channelBw")),
				FFT: r.str("fftVal"),
			}
			switch strings.ToUpper(r.str("state")) {
			case "ENABLED", "ENABLE":
				ch.Enabled = Some(1)
			case "DISABLED", "DISABLE":
				ch.Enabled = Some(0)
			}
			// repPower1_6 is in quarter-dBmV (hitron_coda); 0 while disabled.
			if p := ParseNumber(r.str("repPower1_6")); p.Valid {
				ch.Power = Some(p.V / 4)
			} else if p := ParseNumber(r.str("repPower")); p.Valid {
				ch.Power = p
			}
			d.OFDMA = append(d.OFDMA, ch)
		}
	case LinkStatus:
		recs, err := decodeRecords(body)
		if err != nil {
			return err
		}
		d.Links = make([]LinkPort, 0, len(recs))
		for i, r := range recs {
			lp := LinkPort{Port: strconv.Itoa(i + 1)}
			switch strings.ToLower(r.str("LinkStatus")) {
			case "up":
				lp.Up = Some(1)
			case "down":
				lp.Up = Some(0)
			}
			if v := ParseNumber(strings.TrimSuffix(strings.ToLower(r.str("LinkSpeed")), "mbps")); v.Valid {
				lp.Speed = Some(v.V * 1e6 / 8)
			}
			d.Links = append(d.Links, lp)
		}
	case ConnectInfo:
		recs, err := decodeRecords(body)
		if err != nil {
			return err
		}
		d.HasConnects = true
		d.Clients = make([]ConnectedClient, 0, len(recs))
		for _, r := range recs {
			d.Clients = append(d.Clients, ConnectedClient{
				Interface: r.str("interface"),
				Online:    strings.EqualFold(r.str("online"), "active"),
			})
		}
	default:
		return fmt.Errorf("unknown dataset %q", ds)
	}
	return nil
}

func parseSysInfo(r record) *SystemInfo {
	return &SystemInfo{
		HardwareVersion: r.str("hwVersion"), SoftwareVersion: r.str("swVersion"),
		SerialNumber: r.str("serialNumber"), RFMAC: r.str("rfMac"),
		WANIP: placeholderToEmpty(r.str("wanIp")), LANIP: placeholderToEmpty(r.str("lanIp")),
		Uptime:    ParseDuration(r.str("systemUptime")),
		LANUptime: ParseDuration(r.str("systemLanUptime")), WANUptime: ParseDuration(r.str("systemWanUptime")),
		Clock:       r.str("systemTime"),
		LANReceived: ParseBytes(r.str("LRecPkt")), LANSent: ParseBytes(r.str("LSendPkt")),
		WANReceived: ParseBytes(r.str("WRecPkt")), WANSent: ParseBytes(r.str("WSendPkt")),
	}
}

// initSteps maps getCMInit keys to step labels, in provisioning order.
var initSteps = [][2]string{
	{"hwInit", "hw_init"}, {"findDownstream", "find_downstream"}, {"ranging", "ranging"},
	{"dhcp", "dhcp"}, {"timeOfday", "time_of_day"}, {"downloadCfg", "download_config"},
	{"registration", "registration"},
}

func parseCMInit(r record) *InitStatus {
	st := &InitStatus{NetworkAccess: r.str("networkAccess"), TrafficStatus: r.str("trafficStatus")}
	for _, kv := range initSteps {
		if _, ok := r[kv[0]]; ok {
			st.Steps = append(st.Steps, InitStep{Name: kv[1], Raw: r.str(kv[0])})
		}
	}
	st.BPI = parseBPI(r.str("bpiStatus"))
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
