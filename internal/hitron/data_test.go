package hitron

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// rowsOf is a JSON array of n distinct downstream rows.
func rowsOf(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `{"portId":"1","channelId":"` + strconv.Itoa(i) + `","frequency":"` + strconv.Itoa(100000000+i) + `"}`
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestDecodeRowsLimit(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		max     int
		rows    int
		tooMany bool
		notJSON bool
	}{
		{"under the bound", rowsOf(3), 4, 3, false, false},
		{"at the bound", rowsOf(4), 4, 4, false, false},
		{"one past the bound", rowsOf(5), 4, 0, true, false},
		{"far past the bound", rowsOf(5000), 1024, 0, true, false},
		{"nulls count", "[null,null,null,null,null]", 4, 0, true, false},
		{"elements that are not objects count", `[1,"a",[],true,{"channelId":"1"}]`, 4, 0, true, false},
		{"skipped elements under the bound", `[1,"a",null,{"channelId":"1"}]`, 4, 1, false, false},
		{"a single object", `{"channelId":"1"}`, 1, 1, false, false},
		{"commas inside values do not trip the bound", `[{"channelId":"1,2,3,4,5,6"}]`, 2, 1, false, false},
		{"truncated past the cheap bound", rowsOf(5)[:100], 2, 0, false, true},
		{"junk after the array past the cheap bound", rowsOf(3) + "x", 2, 0, true, false},
		{"junk after the array", rowsOf(3) + "x", 8, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := decodeRows[dsJSON]([]byte(tt.body), tt.max)
			if tt.tooMany != errors.Is(err, ErrTooManyRows) || tt.tooMany && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v, want too many rows: %v", err, tt.tooMany)
			}
			if tt.notJSON != errors.Is(err, ErrNotJSON) {
				t.Fatalf("error %v, want not JSON: %v", err, tt.notJSON)
			}
			if len(rows) != tt.rows {
				t.Fatalf("%d rows, want %d", len(rows), tt.rows)
			}
		})
	}
}

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

// TestDecodeStreamMatchesOnePass: the element-by-element decoding used
// past the cheap bound reads what the one-pass decoding reads.
func TestDecodeStreamMatchesOnePass(t *testing.T) {
	for _, body := range []string{
		rowsOf(1), rowsOf(40), "[]", "[null]", `[{"channelId":"1"},null,{"channelId":2}]`,
		`[1,{"channelId":"a"},"x",[1,2],{"portId":{"nested":true}}]`, `[ {"snr" : "40.1" } ]`,
	} {
		want, wantErr := decodeRowsJSON[dsJSON]([]byte(body), 1<<20)
		table, err := tableFor[dsJSON]()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeStream[dsJSON]([]byte(body), 1<<20, table)
		if err != nil || wantErr != nil || !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%s: stream %v %v, one pass %v %v", body, got, err, want, wantErr)
		}
	}
}

func TestParseLimit(t *testing.T) {
	var d Data
	if err := d.ParseLimit(Downstream, []byte(rowsOf(33)), 32); !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("33 rows with a bound of 32: %v, want ErrTooManyRows", err)
	}
	if d.Downstream != nil {
		t.Fatal("a page over the bound left rows behind")
	}
	if err := d.ParseLimit(Downstream, []byte(rowsOf(32)), 32); err != nil || len(d.Downstream) != 32 {
		t.Fatalf("32 rows with a bound of 32: %v, %d rows", err, len(d.Downstream))
	}
	bpi := `{"bpiStatus":"` + strings.Repeat("k:v,", 40) + `"}`
	if err := d.ParseLimit(CMInit, []byte(bpi), 32); !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("a bpiStatus of 40 pairs with a bound of 32: %v, want ErrTooManyRows", err)
	}
	if err := d.Parse(Downstream, []byte(rowsOf(DefaultMaxPageRows+1))); !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("Parse of %d rows: %v, want ErrTooManyRows", DefaultMaxPageRows+1, err)
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

// TestEveryKnownDatasetHasAReader: the page table and KnownDatasets name
// the same pages.
func TestEveryKnownDatasetHasAReader(t *testing.T) {
	if len(pages) != len(KnownDatasets) {
		t.Errorf("%d page readers for %d known datasets", len(pages), len(KnownDatasets))
	}
	for _, ds := range KnownDatasets {
		if pages[ds] == nil {
			t.Errorf("dataset %s has no reader", ds)
		}
	}
}
