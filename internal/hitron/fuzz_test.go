package hitron

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seedFixtures adds every simulator fixture body as a seed.
func seedFixtures(f *testing.F, add func(ds Dataset, body []byte)) {
	sets, _ := filepath.Glob(filepath.Join("..", "modemsim", "fixtures", "*"))
	for _, set := range sets {
		for _, ds := range KnownDatasets {
			if body, err := os.ReadFile(filepath.Join(set, string(ds)+".json")); err == nil {
				add(ds, body)
			}
		}
	}
}

// FuzzParse feeds arbitrary bodies to every dataset parser: no panic, and
// every parsed number is finite.
func FuzzParse(f *testing.F) {
	seedFixtures(f, func(ds Dataset, body []byte) { f.Add(string(ds), body) })
	f.Add("dsinfo", []byte(`[{"portId":1e400}]`))
	f.Add("getSysInfo", []byte(`{"systemUptime":"99999999999999999999 Days"}`))
	f.Add("getSysInfo", []byte(`[{"systemUptime":"84h:37m:16s"}]`))
	f.Add("dsinfo", []byte(`[{"portId":"1","SNR":nan,"signalStrength":-inf,"frequency":" 602000000"}]`))
	f.Add("dsofdminfo", []byte(`[{"receive":" 0","plclock":" NO","mdc1lock":"YES","plcpower":"  NaN"}]`))
	f.Add("usofdminfo", []byte(`[{"uschindex":"0","state":"  DISABLED","repPower1_6":"    Inf"}]`))
	f.Fuzz(func(t *testing.T, ds string, body []byte) {
		d := &Data{}
		known := false
		for _, k := range KnownDatasets {
			if string(k) == ds {
				known = true
			}
		}
		if !known {
			ds = string(KnownDatasets[len(body)%len(KnownDatasets)])
		}
		_ = d.Parse(Dataset(ds), body)
		for _, ch := range d.Downstream {
			for _, v := range []Value{ch.Frequency, ch.Power, ch.SNR, ch.Octets, ch.Corrected, ch.Uncorrect} {
				finite(t, v)
			}
		}
		for _, ch := range d.Upstream {
			finite(t, ch.Power)
			finite(t, ch.Bandwidth)
		}
		for _, r := range d.OFDM {
			for _, v := range []Value{r.FirstSubcarrier, r.PLCLock, r.NCPLock, r.MDC1Lock, r.PLCPower, r.SNR, r.Octets, r.Corrected, r.Uncorrect} {
				finite(t, v)
			}
		}
		for _, ch := range d.OFDMA {
			for _, v := range []Value{ch.Enabled, ch.Frequency, ch.DigAtten, ch.ChannelWidth, ch.Power} {
				finite(t, v)
			}
		}
		if d.System != nil {
			finite(t, d.System.Uptime)
			finite(t, d.System.LANSent)
		}
	})
}

// finite fails on a valid value that is NaN or infinite, which the
// parsers refuse (math.IsInf, math.IsNaN); a large finite one such as
// 1.1e308, which an earlier bound of ±1e308 took for infinite, is a value.
func finite(t *testing.T, v Value) {
	t.Helper()
	if v.Valid && (math.IsNaN(v.V) || math.IsInf(v.V, 0)) {
		t.Fatalf("non-finite value %v", v.V)
	}
}

// FuzzValues covers the string parsers: numbers, counters, bytes,
// durations (never negative) and clocks (as the reference reads them).
func FuzzValues(f *testing.F) {
	for _, s := range []string{"17.400", "-1.100", " 713600000", "NA", "3 * 2e32 + 1025007675", "40.14M Bytes",
		"00 Days,05 Hours,38 Minutes,47 Seconds", "003 days 01h:40m:02s", "84h:37m:16s", "D: 4 H: 09 M: 47 S: 10",
		"D: -- H: -- M: -- S: --", "Fri Jun 17, 2022, 17:09:10", "Wed, 29 May 2019 20:24:52 -050", "1e999", "--",
		"NaN", "nan", "-Inf", "Infinity", "  0.799999", " NO", "YES", "1234h:05m:06s"} {
		f.Add(s)
	}
	for _, s := range clockCorners {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		finite(t, ParseNumber(s))
		finite(t, ParseCounter(s))
		finite(t, ParseBytes(s))
		d := ParseDuration(s)
		finite(t, d)
		if d.Valid && d.V < 0 {
			t.Fatalf("negative duration %v from %q", d.V, s)
		}
		// Leftovers between the parts are checked by position; the plain
		// rule (remove every part, only separators may remain) must agree.
		if rest := durationPart.ReplaceAllString(strings.TrimSpace(s), ""); d.Valid && strings.Trim(rest, durationSeparators) != "" {
			t.Fatalf("duration %v from %q, which leaves %q", d.V, s, rest)
		}
		if v := yesNo(s); v.Valid && v.V != 0 && v.V != 1 {
			t.Fatalf("lock %v from %q", v.V, s)
		}
		if c := ParseCounter(s); c.Valid && c.V < 0 {
			t.Fatalf("negative counter from %q", s)
		}
		sameClockAsReference(t, s)
	})
}

// FuzzNullNonFinite: the bare-word rewrite never touches valid JSON, and
// what it returns for a body that was not JSON is JSON or still rejected.
func FuzzNullNonFinite(f *testing.F) {
	for _, s := range []string{`{"a":nan}`, `[-inf,"nan",Infinity]`, `{"a":"x\"nan"}`, `[1,2]`, `nan`, `{"a":nanx}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, changed := nullNonFinite(body)
		if json.Valid(body) && changed {
			t.Fatalf("valid JSON %q rewritten to %q", body, out)
		}
		if !changed && string(out) != string(body) {
			t.Fatalf("unchanged body %q came back as %q", body, out)
		}
	})
}

// FuzzLoginResult covers the login answer parser: only "success" succeeds.
func FuzzLoginResult(f *testing.F) {
	for _, s := range []string{"success", "Wrong Credentials.", "Repeat Login", "LoginProtect=9|58|21", "LoginProtect=x|y",
		"LoginProtect=", "Up to the session limit: 1", "", "<html>", "LoginProtect=3|0|9223372036854775807",
		"LoginProtect=3|153722867280912931|0", "usr=admin&pwd=hunter2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		err := loginResult(body)
		if err == nil && !strings.EqualFold(strings.TrimSpace(body), "success") {
			t.Fatalf("login body %q accepted", body)
		}
		// An unrecognised answer is never quoted: the message is fixed.
		if errors.Is(err, ErrBadResponse) {
			want := fmt.Sprintf("login: %v: an unrecognised answer of %d bytes", ErrBadResponse, len(strings.TrimSpace(body)))
			if err.Error() != want {
				t.Fatalf("login answer %q gave %q, want %q", body, err, want)
			}
		}
		if l, ok := err.(*LockedOutError); ok && (l.Wait < 0 || l.Wait > 25*time.Hour || l.Failures < 0) {
			t.Fatalf("negative lock-out from %q: %+v", body, l)
		}
	})
}
