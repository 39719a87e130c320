package eventlog

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParsePriority(t *testing.T) {
	tests := []struct {
		in   string
		want Priority
	}{
		{"1", Emergency}, {"2", Alert}, {"3", Critical}, {"4", Error}, {"5", Warning}, {"6", Notice},
		{"7", Information}, {"8", Debug}, {" 6 ", Notice}, {"3- Critical", Critical}, {"critical", Critical},
		{"Error", Error}, {"WARNING", Warning}, {"info", Information}, {"Informational", Information},
		{"emerg", Emergency}, {"0", PriorityUnknown}, {"9", PriorityUnknown}, {"10", PriorityUnknown},
		{"", PriorityUnknown}, {"-", PriorityUnknown}, {"severe", PriorityUnknown},
	}
	for _, tt := range tests {
		if got := ParsePriority(tt.in); got != tt.want {
			t.Errorf("ParsePriority(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPriorityNames(t *testing.T) {
	want := "emergency alert critical error warning notice information debug"
	var names []string
	for _, p := range Priorities() {
		names = append(names, p.String())
	}
	if got := strings.Join(names, " "); got != want {
		t.Errorf("priority names %q, want %q (DOCSIS OSSI levels 1-8)", got, want)
	}
	if Priority(200).String() != "unknown" || PriorityUnknown.String() != "unknown" {
		t.Error("an out-of-range priority must read as unknown")
	}
}

func TestParseTime(t *testing.T) {
	loc := time.FixedZone("EST", -5*3600)
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"11/15/2020 03:57:38", "2020-11-15T03:57:38-05:00", true},
		{"1/2/2021 13:04:05", "2021-01-02T13:04:05-05:00", true},
		{"12/12/2022 10:52", "2022-12-12T10:52:00-05:00", true},
		{" 11/15/2020  03:57:38 ", "2020-11-15T03:57:38-05:00", true},
		{"01/01/1970 00:00:17", "1970-01-01T00:00:17-05:00", true},
		{"11/15/20 03:57:38", "2020-11-15T03:57:38-05:00", true},
		{"2020-11-15 03:57:38", "", false},
		{"13/45/2020 03:57:38", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseTime(tt.in, loc)
		if ok != tt.ok || ok && got.Format(time.RFC3339) != tt.want {
			t.Errorf("ParseTime(%q) = %v, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got, _ := ParseTime("11/15/2020 03:57:38", nil); got.Location() != time.UTC {
		t.Error("a nil location must mean UTC")
	}
}

func TestParseRows(t *testing.T) {
	// The REST CM/Log row shape (hairyhenderson/hitron_coda cm_test.go),
	// with the oddities a parser must survive.
	body := `[
		{"index":1,"time":"11\/15\/2020 03:57:38","type":"68010300","priority":"4","event":"DHCP;CM-MAC=74:9b:e8:00:12:34;"},
		{"index":"2","time":"11\/16\/2020 17:19:06","type":74010100,"priority":6,"event":"second"},
		{"index":3,"time":"junk","type":"not-an-id","priority":"x","event":null},
		{"index":4,"time":"11\/17\/2020 01:00:00","type":"99999999999","priority":"3","event":"too big an ID"},
		"not a row", 42, null,
		{"index":5,"time":"11\/17\/2020 01:00:01","type":"  82000200 ","priority":" 3","event":"T3"}
	]`
	log, err := ParseRows([]byte(body), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if log.Dropped != 3 || len(log.Entries) != 5 {
		t.Fatalf("entries %d dropped %d, want 5 and 3", len(log.Entries), log.Dropped)
	}
	want := []string{
		"1 2020-11-15T03:57:38Z 68010300 error",
		"2 2020-11-16T17:19:06Z 74010100 notice",
		"3 0001-01-01T00:00:00Z  unknown",
		"4 2020-11-17T01:00:00Z  critical",
		"5 2020-11-17T01:00:01Z 82000200 critical",
	}
	for i, e := range log.Entries {
		if got := fmt.Sprintf("%d %s %s %s", e.Index, e.Time.Format(time.RFC3339), e.EventID, e.Priority); got != want[i] {
			t.Errorf("entry %d = %q, want %q", i, got, want[i])
		}
	}
	if log.Entries[0].Text != "DHCP;CM-MAC=74:9b:e8:00:12:34;" {
		t.Errorf("text %q", log.Entries[0].Text)
	}
}

func TestParseRowsRejectsWhatIsNoArray(t *testing.T) {
	for _, body := range []string{"", "{}", `{"Log_List":[]}`, "<html>", "[1,2"} {
		if _, err := ParseRows([]byte(body), nil); !errors.Is(err, ErrNotJSON) {
			t.Errorf("ParseRows(%q) = %v, want ErrNotJSON", body, err)
		}
	}
	log, err := ParseRows([]byte("[]"), nil)
	if err != nil || len(log.Entries) != 0 {
		t.Errorf("an empty log: %v, %d entries", err, len(log.Entries))
	}
}

func TestParseRowsBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range MaxEntries + 10 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"index":%d,"time":"11/15/2020 03:57:38","type":"82000200","priority":"3","event":"%s"}`, i, strings.Repeat("é", MaxTextBytes))
	}
	b.WriteString("]")
	log, err := ParseRows([]byte(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Entries) != MaxEntries || log.Dropped != 10 {
		t.Errorf("%d entries, %d dropped; want %d and 10", len(log.Entries), log.Dropped, MaxEntries)
	}
	for _, e := range log.Entries[:3] {
		if len(e.Text) > MaxTextBytes || !utf8.ValidString(e.Text) {
			t.Fatalf("text of %d bytes, valid %v", len(e.Text), utf8.ValidString(e.Text))
		}
	}
	if got := clip("a\xffb"); got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8 kept: %q", got)
	}
}

func TestTimeoutOf(t *testing.T) {
	for id, want := range map[string]Timeout{
		"82000200": T3, "82000300": T3, "82000600": T3, "82000400": T4,
		"82000100": NoTimeout, "84000500": NoTimeout, "68010300": NoTimeout, "": NoTimeout,
	} {
		if got := TimeoutOf(id); got != want {
			t.Errorf("TimeoutOf(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestParseRowsLimitStopsEarly: an array of half a million tiny elements
// (a hostile Log_List within the 1 MiB body bound) fails at the row bound
// having decoded no more than it: what it allocates stays a fraction of the
// body (the one-pass decoding allocated 60 times the body).
func TestParseRowsLimitStopsEarly(t *testing.T) {
	body := []byte("[" + strings.Repeat("1,", 512<<10) + "1]")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ParseRowsLimit(body, nil, 1024)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("%v, want ErrTooManyRows", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(body)) {
		t.Fatalf("reading a %d-byte log allocated %d bytes (%.1fx)", len(body), alloc, float64(alloc)/float64(len(body)))
	}
}
