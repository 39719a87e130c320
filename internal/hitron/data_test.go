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

// TestDecodeStreamMatchesOnePass: the element-by-element decoding used
// past the cheap bound reads what the one-pass decoding reads.
func TestDecodeStreamMatchesOnePass(t *testing.T) {
	for _, body := range []string{
		rowsOf(1), rowsOf(40), "[]", "[null]", `[{"channelId":"1"},null,{"channelId":2}]`,
		`[1,{"channelId":"a"},"x",[1,2],{"portId":{"nested":true}}]`, `[ {"snr" : "40.1" } ]`,
	} {
		want, wantErr := decodeArray[dsJSON]([]byte(body))
		got, err := decodeStream[dsJSON]([]byte(body), 1<<20)
		if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
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
