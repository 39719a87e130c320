package hitron

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzRESTPages feeds arbitrary answers to the REST envelope and page
// readers: no panic; a failure code is always a *RESTError and never a
// payload parse error; the error text never carries the body's bytes;
// every number read is finite; the event log stays within its bounds.
func FuzzRESTPages(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "modemsim", "restfixtures", "*", "*", "*.json"))
	for i, file := range files {
		if body, err := os.ReadFile(file); err == nil {
			f.Add(uint8(i), body)
		}
	}
	f.Add(uint8(3), []byte(`{"errCode":"001","errMsg":"Invalid username or password.","Freq_List":[{"portId":1e400}]}`))
	f.Add(uint8(7), []byte(`{"errCode":"000","Log_List":[{"index":1e30,"time":"99/99/9999 99:99:99","type":"-1","priority":"99"}]}`))
	f.Add(uint8(0), []byte(`{"errCode":null}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		page := RESTPages[int(which)%len(RESTPages)]
		loginErr := ParseRESTLogin(body)
		envErr := CheckREST(body)
		var re *RESTError
		if errors.As(envErr, &re) {
			if errors.Is(envErr, ErrNotJSON) || errors.Is(envErr, ErrBadCredentials) || errors.Is(envErr, ErrSessionBusy) {
				t.Fatalf("a data answer's failure %v has a login or parse reason", envErr)
			}
			if !errors.As(loginErr, &re) {
				t.Fatalf("the envelope failed (%v) but the login answer did not (%v)", envErr, loginErr)
			}
		}
		for _, err := range []error{loginErr, envErr} {
			if err != nil && len(body) >= 12 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("error %q quotes the body", err)
			}
		}
		d := &Data{}
		if page == RESTLog {
			log, err := ParseRESTLog(body, time.UTC)
			if envErr != nil && err == nil {
				t.Fatalf("the log read despite the envelope's %v", envErr)
			}
			if len(log.Entries) > 1024 {
				t.Fatalf("%d log entries", len(log.Entries))
			}
			return
		}
		err := d.ParseREST(page, body)
		if errors.As(envErr, &re) && !errors.As(err, &re) {
			t.Fatalf("%s: the envelope failed (%v) but the page gave %v", page, envErr, err)
		}
		for _, ch := range d.Downstream {
			for _, v := range []Value{ch.Frequency, ch.Power, ch.SNR, ch.Octets, ch.Corrected, ch.Uncorrect} {
				finite(t, v)
			}
		}
		for _, ch := range d.Upstream {
			finite(t, ch.Power)
			finite(t, ch.Bandwidth)
			if strings.EqualFold(ch.Modulation, "QAM_NONE") {
				t.Fatal("an unused upstream slot was kept")
			}
		}
		for _, r := range d.OFDM {
			finite(t, r.PLCPower)
			finite(t, r.FirstSubcarrier)
		}
		for _, u := range d.OFDMA {
			finite(t, u.Power)
		}
		if d.CM != nil {
			finite(t, d.CM.Lease)
		}
	})
}
