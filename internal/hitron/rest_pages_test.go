package hitron

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// restFixture reads a page of the simulator's CODA-4680 REST data set.
func restFixture(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "modemsim", "restfixtures", "CODA-4680", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func restFixtureData(t testing.TB) *Data {
	t.Helper()
	d := &Data{}
	for _, p := range RESTPages {
		if p == RESTLog {
			continue
		}
		if err := d.ParseREST(p, restFixture(t, string(p)+".json")); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	return d
}

func TestRESTPagePaths(t *testing.T) {
	if got := RESTDownstream.Path(); got != "/1/Device/CM/DsInfo" {
		t.Errorf("path %q", got)
	}
	if RESTLoginPath != "/1/Device/Users/Login" || RESTLogoutPath != "/1/Device/Users/Logout" {
		t.Error("session paths")
	}
}

// TestParseRESTFixtures reads the CODA-4680 data set into the same Data
// fields the /data/ pages fill.
func TestParseRESTFixtures(t *testing.T) {
	d := restFixtureData(t)
	if d.Model == nil || d.Model.ModelName != "CODA-4680-TPIA" || d.Model.Vendor != "Hitron Technologies" {
		t.Errorf("model %+v", d.Model)
	}
	if s := d.System; s == nil || s.SerialNumber != "40680000123" || s.SoftwareVersion != "7.1.1.2.2b9" || s.HardwareVersion != "1A" || s.RFMAC != "74:9B:E8:00:12:34" {
		t.Errorf("system %+v", d.System)
	}
	if cm := d.CM; cm == nil || cm.IP != "198.51.100.138" || cm.NetMask != "255.255.255.0" || cm.Gateway != "198.51.100.1" ||
		cm.NetworkAccess != "Permitted" || cm.Lease != Some(6*86400+9*3600+25*60+55) {
		t.Errorf("CM %+v", d.CM)
	}
	if in := d.Init; in == nil || len(in.Steps) != 7 || !in.Steps[6].Success() || fmt.Sprint(in.BPI) != "[[auth start] [tek start]]" || in.NetworkAccess != "Permitted" {
		t.Errorf("provisioning %+v", d.Init)
	}
	if len(d.Downstream) != 8 {
		t.Fatalf("%d downstream channels, want 8 (the malformed row dropped)", len(d.Downstream))
	}
	if ch := d.Downstream[0]; ch.Port != "1" || ch.Channel != "11" || ch.Modulation != "256QAM" || ch.Power != Some(3.2) ||
		ch.SNR != Some(38.605) || ch.Frequency != Some(615e6) || ch.Octets != Some(4829493) || ch.Corrected != Some(0) {
		t.Errorf("downstream %+v", ch)
	}
	if len(d.Upstream) != 3 {
		t.Fatalf("%d upstream channels, want 3 (the unused QAM_NONE slot dropped)", len(d.Upstream))
	}
	if ch := d.Upstream[0]; ch.Port != "1" || ch.Channel != "3" || ch.Modulation != "64QAM" || ch.Power != Some(45.27) ||
		ch.Bandwidth != Some(6.4e6) || ch.Frequency != Some(32.3e6) || ch.Mode != "" {
		t.Errorf("upstream %+v", ch)
	}
	if len(d.OFDM) != 2 {
		t.Fatalf("%d OFDM receivers", len(d.OFDM))
	}
	if r := d.OFDM[0]; r.Receiver != "0" || r.PLCLock != Some(0) || r.NCPLock != Some(0) || r.PLCPower.Valid || r.FirstSubcarrier.Valid {
		t.Errorf("unlocked receiver %+v", r)
	}
	if r := d.OFDM[1]; r.Receiver != "1" || r.FFT != "4K" || r.PLCLock != Some(1) || r.MDC1Lock != Some(1) ||
		r.FirstSubcarrier != Some(275600000) || r.PLCPower != Some(0.799999) {
		t.Errorf("locked receiver %+v", r)
	}
	if len(d.OFDMA) != 2 || d.OFDMA[0].Enabled != Some(0) || d.OFDMA[0].FFT != "2K" {
		t.Fatalf("OFDMA %+v", d.OFDMA)
	}
	if u := d.OFDMA[1]; u.Channel != "1" || u.Enabled != Some(1) || u.Power != Some(37.5) || u.ChannelWidth != Some(44.4) || u.DigAtten != Some(2.5) {
		t.Errorf("enabled OFDMA channel %+v", u)
	}
	if s := d.System; s.LANUptime != Some(468117) || s.WANUptime != Some(468083) || s.Clock != "2020-11-17 02:12:33" ||
		s.LANReceived != Some(19601748772) || s.WANSent != Some(18787516468) {
		t.Errorf("Router/SysInfo %+v", s)
	}
	if c, err := ParseClock(d.System.Clock, time.UTC); err != nil || c.Unix() != 1605579153 {
		t.Errorf("clock %v, %v", c, err)
	}
	if d.CM == nil || d.CM.DataRateDown != Some(1.04e9) || d.CM.DataRateUp != Some(31.2e6) {
		t.Errorf("data rates %+v", d.CM)
	}
}

// TestParseRESTValues: padded numbers are read, " NO"/"YES" are locks,
// placeholders drop one sample and not the channel or the page.
func TestParseRESTValues(t *testing.T) {
	d := &Data{}
	ds := `{"errCode":"000","errMsg":"","Freq_List":[
		{"portId":" 1","frequency":" 615000000","modulationType":"QAM256","signalStrength":"  3.200","snr":"-","channelId":"11","dsoctets":"NA","correcteds":"0","uncorrect":"0"},
		{"portId":"2","frequency":"603000000","modulation":"QAM256","signalStrength":"NaN","snr":"37.636 dB","channelId":"9"}]}`
	if err := d.ParseREST(RESTDownstream, []byte(ds)); err != nil {
		t.Fatal(err)
	}
	if len(d.Downstream) != 2 {
		t.Fatalf("%d channels", len(d.Downstream))
	}
	a, b := d.Downstream[0], d.Downstream[1]
	if a.Port != "1" || a.Power != Some(3.2) || a.SNR.Valid || a.Octets.Valid || a.Frequency != Some(615e6) || a.Modulation != "256QAM" {
		t.Errorf("padded and placeholder values: %+v", a)
	}
	if b.Power.Valid || b.SNR != Some(37.636) {
		t.Errorf("NaN must drop the sample, a unit is stripped: %+v", b)
	}
	ofdm := `{"errCode":"000","errMsg":"","Freq_List":[{"receive":"1","ffttype":"4K","Subcarr0freqFreq":" 275600000","plclock":" NO","ncplock":"YES","mdc1lock":"maybe","plcpower":"  -0.5"}]}`
	if err := d.ParseREST(RESTOFDM, []byte(ofdm)); err != nil {
		t.Fatal(err)
	}
	if r := d.OFDM[0]; r.PLCLock != Some(0) || r.NCPLock != Some(1) || r.MDC1Lock.Valid || r.PLCPower != Some(-0.5) {
		t.Errorf("locks: %+v", r)
	}
	us := `{"errCode":"000","errMsg":"","Freq_List":[{"portId":"1","frequency":"32300000","modulationType":"QAM64","signalStrength":"-","bandwidth":"6400000","channelId":"3"}]}`
	if err := d.ParseREST(RESTUpstream, []byte(us)); err != nil {
		t.Fatal(err)
	}
	if len(d.Upstream) != 1 || d.Upstream[0].Power.Valid || d.Upstream[0].Modulation != "64QAM" {
		t.Errorf("upstream %+v", d.Upstream)
	}
	sys := `{"errCode":"000","errMsg":"","ntAccess":"Denied","ip":"203.0.113.9","subMask":"--","gw":"","lease":"D: -- H: -- M: -- S: --","DsDataRate":"-","UsDataRate":"-5"}`
	if err := d.ParseREST(RESTSysInfo, []byte(sys)); err != nil {
		t.Fatal(err)
	}
	if d.CM.IP != "203.0.113.9" || d.CM.NetMask != "" || d.CM.Lease.Valid || d.CM.NetworkAccess != "Denied" {
		t.Errorf("CM %+v", d.CM)
	}
	router := `{"errCode":"000","errMsg":"","systemLanUptime":"003 days 01h:40m:02s","systemWanUptime":"","lanRx":"1.5G Bytes","sysTime":"--"}`
	d.System = &SystemInfo{SerialNumber: "kept"}
	if err := d.ParseREST(RESTRouterSysInfo, []byte(router)); err != nil {
		t.Fatal(err)
	}
	if s := d.System; s.SerialNumber != "kept" || s.LANUptime != Some(3*86400+6002) || s.WANUptime.Valid || s.LANReceived != Some(1.5e9) {
		t.Errorf("Router/SysInfo variants %+v", s)
	}
	if d.CM.DataRateDown.Valid || d.CM.DataRateUp.Valid {
		t.Errorf("placeholder and negative rates %+v", d.CM)
	}
}

// TestRESTEnvelope: the errCode/errMsg envelope is read first; a failure
// is a *RESTError with its reason, never a payload parse error, and the
// modem's own words are never quoted.
func TestRESTEnvelope(t *testing.T) {
	var answers map[string]json.RawMessage
	if err := json.Unmarshal(restFixture(t, "Users/Login.answers.json"), &answers); err != nil {
		t.Fatal(err)
	}
	login := map[string]error{
		"success": nil, "wrong_password": ErrBadCredentials, "wrong_password_code": ErrBadCredentials,
		// A login is never answered "not logged in": in answer to a login,
		// those words and unknown codes are refusals the exporter cannot
		// read (ErrLoginUnclear), so the password is not sent again soon.
		"session_busy": ErrSessionBusy, "not_logged_in": ErrLoginUnclear, "other": ErrLoginUnclear,
	}
	if len(answers) != len(login) {
		t.Fatalf("the answers file has %d answers, the test knows %d", len(answers), len(login))
	}
	for name, want := range login {
		err := ParseRESTLogin(answers[name])
		if want == nil {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		var re *RESTError
		if !errors.Is(err, want) || !errors.As(err, &re) || errors.Is(err, ErrNotJSON) {
			t.Errorf("%s: %v, want a *RESTError for %v", name, err, want)
		}
	}

	tests := []struct {
		name, body string
		want       error
	}{
		{"success", `{"errCode":"000","errMsg":"","x":1}`, nil},
		{"numeric success", `{"errCode":0,"errMsg":""}`, nil},
		{"a data page cannot mean a wrong password", `{"errCode":"001","errMsg":"Invalid username or password."}`, ErrRESTFailure},
		{"a data page out of session", `{"errCode":"002","errMsg":"Please login first."}`, ErrNotLoggedIn},
		{"failure with a broken payload", `{"errCode":"005","errMsg":"x","Freq_List":"garbage"}`, ErrRESTFailure},
		{"no envelope", `{"Freq_List":[]}`, ErrBadResponse},
		{"not JSON", `<html>login</html>`, ErrNotJSON},
		{"empty", ``, ErrNotJSON},
		{"an array", `[{"errCode":"000"}]`, ErrNotJSON},
	}
	for _, tt := range tests {
		err := CheckREST([]byte(tt.body))
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}

	secret := `{"errCode":"004","errMsg":"user admin password hunter2 rejected; CM-MAC=74:9b:e8:00:12:34"}`
	err := ParseRESTLogin([]byte(secret))
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "74:9b") || !strings.Contains(err.Error(), "errCode 004") {
		t.Errorf("the error must name the code and never quote errMsg: %v", err)
	}
	var re *RESTError
	if errors.As(ParseRESTLogin([]byte(`{"errCode":"<script>aaaaaaaaaaaaaaaaaaaa","errMsg":""}`)), &re); re == nil || re.Code != "malformed" {
		t.Errorf("a malformed code: %+v", re)
	}
	// Every page reads the envelope first.
	d := &Data{}
	for _, p := range RESTPages {
		var err error
		if p == RESTLog {
			_, err = ParseRESTLog([]byte(`{"errCode":"002","errMsg":"Please login first.","Log_List":7}`), nil)
		} else {
			err = d.ParseREST(p, []byte(`{"errCode":"002","errMsg":"Please login first.","Freq_List":7,"ip":{}}`))
		}
		if !errors.Is(err, ErrNotLoggedIn) || errors.Is(err, ErrNotJSON) {
			t.Errorf("%s: %v, want the envelope's reason", p, err)
		}
	}
}

func TestRESTListsMustBePresent(t *testing.T) {
	d := &Data{}
	for _, p := range []RESTPage{RESTDownstream, RESTUpstream, RESTOFDM, RESTOFDMA} {
		for _, body := range []string{`{"errCode":"000","errMsg":""}`, `{"errCode":"000","errMsg":"","Freq_List":null}`} {
			if err := d.ParseREST(p, []byte(body)); !errors.Is(err, ErrNotJSON) {
				t.Errorf("%s %s: %v, want ErrNotJSON", p, body, err)
			}
		}
		if err := d.ParseREST(p, []byte(`{"errCode":"000","errMsg":"","Freq_List":[]}`)); err != nil {
			t.Errorf("%s: an empty list is valid: %v", p, err)
		}
	}
	if _, err := ParseRESTLog([]byte(`{"errCode":"000","errMsg":""}`), nil); !errors.Is(err, ErrNotJSON) {
		t.Errorf("a log answer without Log_List must fail, not read as a cleared log: %v", err)
	}
	if err := d.ParseREST(RESTLog, []byte(`{"errCode":"000","Log_List":[]}`)); err == nil {
		t.Error("CM/Log through ParseREST")
	}
	if err := d.ParseREST("CM/Nope", []byte(`{"errCode":"000"}`)); err == nil {
		t.Error("an unknown page")
	}
}

func TestParseRESTLog(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	log, err := ParseRESTLog(restFixture(t, "CM/Log.json"), loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Entries) != 10 || log.Dropped != 0 {
		t.Fatalf("%d entries, %d dropped", len(log.Entries), log.Dropped)
	}
	e := log.Entries[2]
	if e.Index != 3 || e.EventID != "68010300" || e.Priority.String() != "error" || e.Time.Format(time.RFC3339) != "2020-11-15T03:57:38+01:00" {
		t.Errorf("entry %+v", e)
	}
}

// TestRESTLoginForm: the credentials are marshalled into the model field,
// so quotes and braces in a password cannot change the JSON's structure.
func TestRESTLoginForm(t *testing.T) {
	pass := `p","username":"root"}&model=x\`
	form := RESTLoginForm("cusadmin", pass)
	if len(form) != 1 || len(form["model"]) != 1 {
		t.Fatalf("form %v", form)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(form.Get("model")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["username"] != "cusadmin" || got["password"] != pass {
		t.Errorf("model decodes to %v", got)
	}
	if back, err := url.ParseQuery(form.Encode()); err != nil || back.Get("model") != form.Get("model") {
		t.Errorf("form encoding does not round-trip: %v", err)
	}
}

func TestRESTStatusError(t *testing.T) {
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		if err := RESTStatusError("GET", "/1/Device/CM/DsInfo", code); !errors.Is(err, ErrNotLoggedIn) {
			t.Errorf("%d: %v", code, err)
		}
	}
	var se *StatusError
	if err := RESTStatusError("GET", "/1/Device/CM/DsInfo", 500); !errors.As(err, &se) || se.Code != 500 {
		t.Errorf("500: %v", err)
	}
}
