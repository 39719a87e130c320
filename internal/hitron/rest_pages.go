package hitron

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
)

// The CODA REST family (CODA-4680, CODA-5610Q) serves JSON under /1/Device/
// instead of the /data/*.asp pages. Facts from public clients (see
// internal/modemsim/fixtures/README.md for each field's source):
// hairyhenderson/hitron_coda (types and tests), hairyhenderson/
// hitron_coda_exporter, xharl/hitron-coda-5610q.
//
// Every answer is one JSON object carrying errCode ("000" when the request
// succeeded) and errMsg. The functions here read the envelope first: a
// failure code is a *RESTError with a precise reason and never a parse error
// of the payload. The pages map onto the same Data fields as their /data/
// counterparts, so the collector emits the same families.

// RESTPrefix is where the REST API lives.
const RESTPrefix = "/1/Device/"

// The session endpoints: POST the login form to RESTLoginPath (the answer
// sets the PHPSESSID cookie), POST RESTLogoutPath at the end.
const (
	RESTLoginPath  = RESTPrefix + "Users/Login"
	RESTLogoutPath = RESTPrefix + "Users/Logout"
)

// RESTPage names a page of the REST API, relative to RESTPrefix.
type RESTPage string

// The pages the exporter reads.
const (
	RESTVersion    RESTPage = "CM/Version"         // model, serial, firmware
	RESTSysInfo    RESTPage = "CM/SysInfo"         // CM address, lease, data rates
	RESTProvision  RESTPage = "CM/DocsisProvision" // provisioning steps (getCMInit's keys)
	RESTDownstream RESTPage = "CM/DsInfo"          // SC-QAM downstream (Freq_List)
	RESTUpstream   RESTPage = "CM/UsInfo"          // SC-QAM upstream (Freq_List)
	RESTOFDM       RESTPage = "CM/DsOfdm"          // OFDM receivers (Freq_List)
	RESTOFDMA      RESTPage = "CM/UsOfdm"          // OFDMA upstream (Freq_List)
	RESTLog        RESTPage = "CM/Log"             // DOCSIS event log (Log_List)
	// RESTRouterSysInfo has what the CM pages lack and the /data/ pages'
	// getSysInfo has: LAN and WAN uptime, the clock, LAN and WAN bytes.
	RESTRouterSysInfo RESTPage = "Router/SysInfo"
)

// RESTPages are the pages a probe reads, in this order.
var RESTPages = []RESTPage{RESTVersion, RESTSysInfo, RESTRouterSysInfo, RESTProvision, RESTDownstream, RESTUpstream, RESTOFDM, RESTOFDMA, RESTLog}

// Path returns the page's URL path.
func (p RESTPage) Path() string { return RESTPrefix + string(p) }

// RESTLoginForm is the login request's form: one field, model, holding the
// credentials as a JSON object. The JSON is marshalled, never pasted
// together, so no character of a password can change its structure.
func RESTLoginForm(username, password string) url.Values {
	model, _ := json.Marshal(struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}{username, password})
	return url.Values{"model": {string(model)}}
}

// ErrRESTFailure is the reason of a *RESTError whose code this client has
// no more precise meaning for.
var ErrRESTFailure = errors.New("modem reported a failure (errCode not 000)")

// RESTError is a REST answer whose errCode is not "000", or a login answer
// whose result names an error. Reason is ErrBadCredentials, ErrSessionBusy,
// ErrNotLoggedIn or ErrRESTFailure; errors.Is sees it. The modem's errMsg
// is never quoted: it is the peer's text.
type RESTError struct {
	// Code is the errCode as sent when it is at most eight digits,
	// otherwise "malformed".
	Code string
	// Reason is one of the sentinel errors above.
	Reason error
	// Login marks the answer to a login: an unrecognised failure there is
	// also ErrLoginUnclear.
	Login bool
}

func (e *RESTError) Error() string {
	return fmt.Sprintf("modem answered errCode %s: %s", e.Code, restReasonText(e.Reason))
}

// Unwrap returns the reason, and ErrLoginUnclear for a login turned down
// for a reason that is not recognised.
func (e *RESTError) Unwrap() []error {
	if e.Login && e.Reason == ErrRESTFailure {
		return []error{e.Reason, ErrLoginUnclear}
	}
	return []error{e.Reason}
}

func restReasonText(r error) string {
	switch r {
	case ErrBadCredentials:
		return "wrong username or password"
	case ErrSessionBusy:
		return "another session is logged in"
	case ErrNotLoggedIn:
		return "not logged in or session expired"
	}
	return "unrecognised failure"
}

// envelope is the part every REST answer shares. Result is only on login
// answers: the CODA-5610Q answers a wrong password with errCode "000" and
// result "Error_Password_Wrong" (xharl/hitron-coda-5610q CHANGELOG 0.2.1).
type envelope struct {
	Code   *flex `json:"errCode"`
	Msg    flex  `json:"errMsg"`
	Result flex  `json:"result"`
}

// restContext says which reasons an answer can mean: a data page cannot
// report a wrong password (and must not, or the refusal memory would drop
// good credentials).
type restContext int

const (
	restData restContext = iota
	restLogin
)

// readEnvelope decodes body's envelope and returns the failure it reports.
func readEnvelope(body []byte, ctx restContext) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return fmt.Errorf("%w: not a JSON object (%d bytes)", ErrNotJSON, len(body))
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	if env.Code == nil {
		return fmt.Errorf("%w: no errCode in the answer", ErrBadResponse)
	}
	code := env.Code.String()
	result := env.Result.String()
	if restSuccess(code) && !strings.HasPrefix(strings.ToLower(result), "error") {
		return nil
	}
	e := &RESTError{Code: "malformed", Reason: classifyREST(code, env.Msg.String(), result, ctx), Login: ctx == restLogin}
	if len(code) > 0 && len(code) <= 8 && strings.Trim(code, "0123456789") == "" {
		e.Code = code
	}
	return e
}

// restSuccess reports whether code is the success code "000" (also read
// from a JSON number 0).
func restSuccess(code string) bool {
	n, err := strconv.Atoi(code)
	return err == nil && n == 0
}

// classifyREST gives a failure its reason from the answer's words, since
// the firmware's codes are not documented. Only the CODA-5610Q's
// "Error_Password_Wrong" is attested; the other patterns are the plain
// meanings, and anything unrecognised is ErrRESTFailure (a failure, never
// a parse error, never a guess at wrong credentials).
func classifyREST(code, msg, result string, ctx restContext) error {
	text := strings.ToLower(result + " " + msg)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(text, w) {
				return true
			}
		}
		return false
	}
	if ctx == restLogin {
		// The answer to a login is never "not logged in": a refusal worded
		// "please login again" is a refusal, and an unrecognised one is
		// ErrLoginUnclear (see RESTError.Unwrap), so the password is not
		// sent again on the next probe.
		switch {
		case has("error_password_wrong") || has("password") && has("wrong", "invalid", "incorrect"):
			return ErrBadCredentials
		case has("another user", "already logged", "logined", "session busy", "session limit", "in use"):
			return ErrSessionBusy
		}
		return ErrRESTFailure
	}
	if has("not login", "not logged", "login first", "please login", "session expired", "session timeout", "unauthori") {
		return ErrNotLoggedIn
	}
	return ErrRESTFailure
}

// ParseRESTLogin reads the answer to the login POST: nil when the modem
// accepted the credentials, else a *RESTError (or a wrapped ErrNotJSON /
// ErrBadResponse when the answer is no envelope at all).
func ParseRESTLogin(body []byte) error {
	if err := readEnvelope(body, restLogin); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	return nil
}

// CheckREST reads a data or logout answer's envelope: nil for "000", else
// a *RESTError (whose reason is ErrNotLoggedIn or ErrRESTFailure).
func CheckREST(body []byte) error { return readEnvelope(body, restData) }

// RESTStatusError maps an HTTP status other than 200 from the REST API to
// an error: 401 and 403 mean the session is gone (xharl/hitron-coda-5610q
// logs in again on them), anything else is a *StatusError.
func RESTStatusError(method, path string, status int) error {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return fmt.Errorf("%s %s: HTTP %d: %w", method, path, status, ErrNotLoggedIn)
	}
	return &StatusError{Method: method, Path: path, Code: status}
}

// The REST pages' own fields (only those the exporter reads); the channel
// lists reuse the /data/ pages' row shapes.
type (
	restVersionJSON struct {
		DeviceID        flex `json:"deviceId"`
		ModelName       flex `json:"modelName"`
		VendorName      flex `json:"vendorName"`
		SerialNum       flex `json:"SerialNum"`
		HwVersion       flex `json:"HwVersion"`
		SoftwareVersion flex `json:"SoftwareVersion"`
	}
	restSysInfoJSON struct {
		Access     flex            `json:"ntAccess"`
		IP         json.RawMessage `json:"ip"`
		SubMask    flex            `json:"subMask"`
		Gateway    flex            `json:"gw"`
		Lease      flex            `json:"lease"`
		DsDataRate flex            `json:"DsDataRate"`
		UsDataRate flex            `json:"UsDataRate"`
	}
	// restRouterJSON is Router/SysInfo (hitron_coda RouterSysInfo): uptimes
	// in seconds ("468117"; some models "000 days 01h:02m:03s"), sysTime
	// "2020-11-17 02:12:33" in the modem's local time, byte counters.
	restRouterJSON struct {
		SysTime flex `json:"sysTime"`
		LanUp   flex `json:"systemLanUptime"`
		WanUp   flex `json:"systemWanUptime"`
		LanRx   flex `json:"lanRx"`
		LanTx   flex `json:"lanTx"`
		WanRx   flex `json:"wanRx"`
		WanTx   flex `json:"wanTx"`
		RFMac   flex `json:"rfMac"`
	}
	restListJSON struct {
		FreqList json.RawMessage `json:"Freq_List"`
		LogList  json.RawMessage `json:"Log_List"`
	}
	// restModulationJSON is the REST rows' modulation key: modulationType
	// upstream (hitron_coda: "64QAM", "QAM_NONE"); downstream rows carry
	// modulation ("QAM256") but the client reads both.
	restModulationJSON struct {
		ModulationType flex `json:"modulationType"`
	}
)

// ParseREST decodes one REST page's answer into d, envelope first. Pages
// map as: CM/Version → Model and System (identity), Router/SysInfo →
// System (uptimes, clock, byte counters), CM/SysInfo → CM,
// CM/DocsisProvision → Init, CM/DsInfo → Downstream, CM/UsInfo → Upstream,
// CM/DsOfdm → OFDM, CM/UsOfdm → OFDMA. CM/Log has its own reader,
// ParseRESTLog. Values follow the /data/ rules: padded numbers are trimmed,
// " NO"/"YES" are locks, placeholders ("-", "NA") drop that one sample.
func (d *Data) ParseREST(page RESTPage, body []byte) error {
	return d.ParseRESTLimit(page, body, DefaultMaxPageRows)
}

// ParseRESTLimit is ParseREST with at most maxRows rows per page (see
// ParseLimit).
func (d *Data) ParseRESTLimit(page RESTPage, body []byte, maxRows int) error {
	if err := CheckREST(body); err != nil {
		return fmt.Errorf("%s: %w", page, err)
	}
	if err := d.parseRESTPayload(page, body, maxRows); err != nil {
		return fmt.Errorf("%s: %w", page, err)
	}
	return nil
}

func (d *Data) parseRESTPayload(page RESTPage, body []byte, maxRows int) error {
	switch page {
	case RESTVersion:
		var v restVersionJSON
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
		d.Model = &ModelInfo{ModelName: v.ModelName.String(), Vendor: v.VendorName.String()}
		s := d.system()
		s.HardwareVersion, s.SoftwareVersion = v.HwVersion.String(), v.SoftwareVersion.String()
		s.SerialNumber, s.RFMAC = v.SerialNum.String(), v.DeviceID.String()
	case RESTRouterSysInfo:
		var r restRouterJSON
		if err := json.Unmarshal(body, &r); err != nil {
			return fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
		s := d.system()
		s.Clock = r.SysTime.String()
		s.LANUptime, s.WANUptime = restUptime(r.LanUp.String()), restUptime(r.WanUp.String())
		s.LANReceived, s.LANSent = ParseBytes(r.LanRx.String()), ParseBytes(r.LanTx.String())
		s.WANReceived, s.WANSent = ParseBytes(r.WanRx.String()), ParseBytes(r.WanTx.String())
		if s.RFMAC == "" {
			s.RFMAC = r.RFMac.String()
		}
	case RESTSysInfo:
		var s restSysInfoJSON
		if err := json.Unmarshal(body, &s); err != nil {
			return fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
		d.CM = &CMStatus{
			IP: placeholderToEmpty(firstIP(s.IP)), NetMask: placeholderToEmpty(s.SubMask.String()),
			Gateway: placeholderToEmpty(s.Gateway.String()), NetworkAccess: s.Access.String(),
			Lease:        ParseDuration(s.Lease.String()),
			DataRateDown: nonNegative(ParseNumber(s.DsDataRate.String())), DataRateUp: nonNegative(ParseNumber(s.UsDataRate.String())),
		}
	case RESTProvision:
		// The same keys as getCMInit, in the envelope object itself.
		return d.ParseLimit(CMInit, body, maxRows)
	case RESTDownstream:
		rows, err := restList(body)
		if err != nil {
			return err
		}
		if err := d.ParseLimit(Downstream, rows, maxRows); err != nil {
			return err
		}
		mods := restModulations(rows, len(d.Downstream), maxRows)
		kept := d.Downstream[:0]
		for i, ch := range d.Downstream {
			if ch.Port == "" && ch.Channel == "" {
				continue // a malformed row (hitron_coda's test has one)
			}
			if ch.Modulation == "" {
				ch.Modulation = mods[i]
			}
			ch.Modulation = restModulationName(ch.Modulation)
			kept = append(kept, ch)
		}
		d.Downstream = kept
	case RESTUpstream:
		rows, err := restList(body)
		if err != nil {
			return err
		}
		if err := d.ParseLimit(Upstream, rows, maxRows); err != nil {
			return err
		}
		mods := restModulations(rows, len(d.Upstream), maxRows)
		kept := d.Upstream[:0]
		for i, ch := range d.Upstream {
			if ch.Modulation == "" {
				ch.Modulation = mods[i]
			}
			// Unused slots: frequency "0", modulation "QAM_NONE", power "-".
			if ch.Port == "" && ch.Channel == "" || strings.EqualFold(ch.Modulation, "QAM_NONE") ||
				ch.Frequency.Valid && ch.Frequency.V == 0 {
				continue
			}
			ch.Modulation = restModulationName(ch.Modulation)
			kept = append(kept, ch)
		}
		d.Upstream = kept
	case RESTOFDM:
		rows, err := restList(body)
		if err != nil {
			return err
		}
		return d.ParseLimit(OFDM, rows, maxRows)
	case RESTOFDMA:
		rows, err := restList(body)
		if err != nil {
			return err
		}
		return d.ParseLimit(OFDMA, rows, maxRows)
	case RESTLog:
		return fmt.Errorf("%s is read by ParseRESTLog", page)
	default:
		return fmt.Errorf("unknown REST page %q", page)
	}
	return nil
}

// system returns d.System, made on first use: CM/Version and
// Router/SysInfo each fill part of it, in either order.
func (d *Data) system() *SystemInfo {
	if d.System == nil {
		d.System = &SystemInfo{}
	}
	return d.System
}

// restUptime reads Router/SysInfo's uptimes: whole seconds, or any
// duration format ParseDuration knows.
func restUptime(s string) Value {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		return ParseCounter(s)
	}
	return ParseDuration(s)
}

// restList returns the page's Freq_List. A page without one fails: an
// absent list is not an empty one.
func restList(body []byte) ([]byte, error) {
	var l restListJSON
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	if absent(l.FreqList) {
		return nil, fmt.Errorf("%w: no Freq_List", ErrNotJSON)
	}
	return l.FreqList, nil
}

// absent reports whether a JSON member was missing or null.
func absent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// decodeREST reads a page's envelope, then decodes the answer into v.
func decodeREST(page RESTPage, body []byte, v any) error {
	if err := CheckREST(body); err != nil {
		return fmt.Errorf("%s: %w", page, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %w: %v", page, ErrNotJSON, err)
	}
	return nil
}

// restModulations returns each row's modulationType, aligned with the rows
// decodeRows kept (n of them); "" where it cannot tell.
func restModulations(rows []byte, n, maxRows int) []string {
	out := make([]string, n)
	parsed, err := decodeRows[restModulationJSON](rows, maxRows)
	if err != nil || len(parsed) != n {
		return out
	}
	for i, r := range parsed {
		out[i] = r.ModulationType.String()
	}
	return out
}

// restModulationName writes the REST spelling "QAM256" as the /data/ pages'
// "256QAM", so the channel info label has one value per modulation.
func restModulationName(m string) string {
	if rest, ok := strings.CutPrefix(strings.ToUpper(m), "QAM"); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
		return rest + "QAM"
	}
	return m
}

// firstIP reads CM/SysInfo's ip: an array of addresses (the first is the
// CM's) or, defensively, a plain string.
func firstIP(raw json.RawMessage) string {
	var list []flex
	if json.Unmarshal(raw, &list) == nil {
		for _, ip := range list {
			if ip != "" {
				return ip.String()
			}
		}
		return ""
	}
	var one flex
	if json.Unmarshal(raw, &one) == nil {
		return one.String()
	}
	return ""
}

// nonNegative drops a negative rate (CM/SysInfo's DsDataRate and
// UsDataRate, bits per second, read into CMStatus).
func nonNegative(v Value) Value {
	if v.Valid && v.V < 0 {
		return Value{}
	}
	return v
}

// ParseRESTLog reads a CM/Log answer, envelope first, into event-log rows
// (times read in loc, the modem's configured zone). An answer without
// Log_List fails rather than reading as an empty log: an empty log means
// the modem cleared it, which the event memory must not be told by mistake.
func ParseRESTLog(body []byte, loc *time.Location) (eventlog.Log, error) {
	return ParseRESTLogLimit(body, loc, DefaultMaxPageRows)
}

// ParseRESTLogLimit is ParseRESTLog with at most maxRows rows (0:
// DefaultMaxPageRows): a longer log is ErrTooManyRows, found before more
// than maxRows rows are decoded.
func ParseRESTLogLimit(body []byte, loc *time.Location, maxRows int) (eventlog.Log, error) {
	if maxRows <= 0 {
		maxRows = DefaultMaxPageRows
	}
	var l restListJSON
	if err := decodeREST(RESTLog, body, &l); err != nil {
		return eventlog.Log{}, err
	}
	if absent(l.LogList) {
		return eventlog.Log{}, fmt.Errorf("%s: %w: no Log_List", RESTLog, ErrNotJSON)
	}
	log, err := eventlog.ParseRowsLimit(l.LogList, loc, maxRows)
	if errors.Is(err, eventlog.ErrTooManyRows) {
		return eventlog.Log{}, fmt.Errorf("%s: %w: %w", RESTLog, ErrTooManyRows, err)
	}
	if err != nil {
		return eventlog.Log{}, fmt.Errorf("%s: %w: %w", RESTLog, ErrNotJSON, err)
	}
	return log, nil
}
