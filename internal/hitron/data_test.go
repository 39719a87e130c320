package hitron

import "testing"

// TestParseFirmwareVariants: values the CODA and CGN firmwares print that
// the captured fixtures lack parse, or drop their one sample, and never
// fail the page.
func TestParseFirmwareVariants(t *testing.T) {
	tests := []struct {
		name  string
		ds    Dataset
		body  string
		check func(t *testing.T, d *Data)
	}{
		{"hours-only uptime", SysInfo, `[{"systemUptime":"84h:37m:16s"}]`, func(t *testing.T, d *Data) {
			want(t, d.System.Uptime, Some(84*3600+37*60+16))
		}},
		{"hours-only uptime past 99 hours", SysInfo, `[{"systemUptime":"1234h:05m:06s"}]`, func(t *testing.T, d *Data) {
			want(t, d.System.Uptime, Some(1234*3600+5*60+6))
		}},
		{"quoted NaN drops the sample", Downstream, `[{"portId":"1","snr":"NaN","signalStrength":"3.5"}]`, func(t *testing.T, d *Data) {
			want(t, d.Downstream[0].SNR, Value{})
			want(t, d.Downstream[0].Power, Some(3.5))
		}},
		{"quoted nan, Inf and -Inf drop their samples", Downstream, `[{"portId":"1","snr":"nan","signalStrength":"Inf","frequency":"-Inf","correcteds":"inf"}]`, func(t *testing.T, d *Data) {
			ch := d.Downstream[0]
			want(t, ch.SNR, Value{})
			want(t, ch.Power, Value{})
			want(t, ch.Frequency, Value{})
			want(t, ch.Corrected, Value{})
		}},
		{"bare nan and inf (not JSON) drop their samples, not the page", Downstream, `[{"portId":"1","snr":nan,"signalStrength":-inf,"frequency":"602000000"},{"portId":"2","snr":NaN,"signalStrength":+Infinity}]`, func(t *testing.T, d *Data) {
			if len(d.Downstream) != 2 {
				t.Fatalf("%d channels, want 2", len(d.Downstream))
			}
			want(t, d.Downstream[0].SNR, Value{})
			want(t, d.Downstream[0].Power, Value{})
			want(t, d.Downstream[0].Frequency, Some(602e6))
		}},
		{"bare words inside strings are left alone", Upstream, `[{"portId":"1","scdmaMode":"inf nan","signalStrength":"40"}]`, func(t *testing.T, d *Data) {
			if d.Upstream[0].Mode != "inf nan" {
				t.Errorf("mode %q", d.Upstream[0].Mode)
			}
		}},
		{"capitalised keys", Downstream, `[{"PortId":"1","SNR":"40.366","SignalStrength":"-2.1","Frequency":"591000000"}]`, func(t *testing.T, d *Data) {
			ch := d.Downstream[0]
			want(t, ch.SNR, Some(40.366))
			want(t, ch.Power, Some(-2.1))
			if ch.Port != "1" {
				t.Errorf("port %q", ch.Port)
			}
		}},
		{"padded numbers", OFDM, `[{"receive":" 0","Subcarr0freqFreq":" 275600000","plcpower":"  0.799999","SNR":"  41.0 "}]`, func(t *testing.T, d *Data) {
			r := d.OFDM[0]
			want(t, r.FirstSubcarrier, Some(275600000))
			want(t, r.PLCPower, Some(0.799999))
			want(t, r.SNR, Some(41))
			if r.Receiver != "0" {
				t.Errorf("receiver %q", r.Receiver)
			}
		}},
		{"padded JSON numbers", Downstream, `[{"portId": 1 ,"snr":  40.5 }]`, func(t *testing.T, d *Data) {
			want(t, d.Downstream[0].SNR, Some(40.5))
		}},
		{"YES/NO locks with a leading space", OFDM, `[{"receive":"0","plclock":" NO","ncplock":"YES","mdc1lock":" YES"}]`, func(t *testing.T, d *Data) {
			r := d.OFDM[0]
			want(t, r.PLCLock, Some(0))
			want(t, r.NCPLock, Some(1))
			want(t, r.MDC1Lock, Some(1))
		}},
		{"padded OFDMA state and power", OFDMA, `[{"uschindex":"0","state":"  DISABLED","repPower1_6":"    0.0000"}]`, func(t *testing.T, d *Data) {
			want(t, d.OFDMA[0].Enabled, Some(0))
			want(t, d.OFDMA[0].Power, Some(0))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Data{}
			if err := d.Parse(tt.ds, []byte(tt.body)); err != nil {
				t.Fatalf("page failed: %v", err)
			}
			tt.check(t, d)
		})
	}
}

func want(t *testing.T, got, want Value) {
	t.Helper()
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestNullNonFinite covers the bare-word rewrite on its own.
func TestNullNonFinite(t *testing.T) {
	tests := []struct {
		in, want string
		changed  bool
	}{
		{`{"a":nan}`, `{"a":null}`, true},
		{`[-inf,+inf,Infinity,NaN]`, `[null,null,null,null]`, true},
		{`{"a":"nan","b":"x\"nan"}`, `{"a":"nan","b":"x\"nan"}`, false},
		{`{"a":true,"b":null,"c":false}`, `{"a":true,"b":null,"c":false}`, false},
		{`{"a":nanx}`, `{"a":nanx}`, false},
		{`{"a":-5}`, `{"a":-5}`, false},
	}
	for _, tt := range tests {
		got, changed := nullNonFinite([]byte(tt.in))
		if string(got) != tt.want || changed != tt.changed {
			t.Errorf("nullNonFinite(%s) = %s, %v; want %s, %v", tt.in, got, changed, tt.want, tt.changed)
		}
	}
}
