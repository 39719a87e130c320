package hitron

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// rowDecoder decodes a body into the rows of one page struct, with
// decodeRows or with the v1 oracle (v1DecodeRows).
type rowDecoder struct {
	name   string
	decode func(body []byte, maxRows int, v1 bool) (any, error)
}

// rowDecoderOf is the rowDecoder of page struct T.
func rowDecoderOf[T any](name string) rowDecoder {
	return rowDecoder{name, func(body []byte, maxRows int, v1 bool) (any, error) {
		if v1 {
			return v1DecodeRows[T](body, maxRows)
		}
		return decodeRows[T](body, maxRows)
	}}
}

// rowDecoders lists every page struct decodeRows is used with.
func rowDecoders() []rowDecoder {
	return []rowDecoder{
		rowDecoderOf[modelJSON](string(SystemModel)), rowDecoderOf[sysInfoJSON](string(SysInfo)),
		rowDecoderOf[cmInitJSON](string(CMInit)), rowDecoderOf[docsisWanJSON](string(DocsisWan)),
		rowDecoderOf[dsJSON](string(Downstream)), rowDecoderOf[usJSON](string(Upstream)),
		rowDecoderOf[ofdmJSON](string(OFDM)), rowDecoderOf[ofdmaJSON](string(OFDMA)),
		rowDecoderOf[linkJSON](string(LinkStatus)), rowDecoderOf[connectJSON](string(ConnectInfo)),
		rowDecoderOf[restModulationJSON]("rest modulation"),
	}
}

// errorClass names the error kinds callers tell apart.
func errorClass(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, ErrTooManyRows):
		return "ErrTooManyRows"
	case errors.Is(err, ErrNotJSON):
		return "ErrNotJSON"
	}
	return "other: " + err.Error()
}

// sameAsV1 fails t when decodeRows and the v1 oracle differ on body for
// any page struct: in the rows (nil and empty told apart) or the error
// class.
func sameAsV1(t *testing.T, body []byte, maxRows int) {
	t.Helper()
	for _, d := range rowDecoders() {
		want, wantErr := d.decode(body, maxRows, true)
		got, err := d.decode(body, maxRows, false)
		if errorClass(err) != errorClass(wantErr) {
			t.Fatalf("%s, max %d, %q: error %v, v1 %v", d.name, maxRows, body, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s, max %d, %q:\nrows %s\nv1   %s", d.name, maxRows, body, rowsText(got), rowsText(want))
		}
	}
}

// rowsText prints rows with *flex fields followed, for failure messages.
func rowsText(rows any) string {
	v := reflect.ValueOf(rows)
	if v.IsNil() {
		return "nil"
	}
	var b strings.Builder
	for i := range v.Len() {
		row := v.Index(i)
		b.WriteString("{")
		for j := range row.NumField() {
			f := row.Field(j)
			if f.Kind() == reflect.Pointer && !f.IsNil() {
				f = f.Elem()
			}
			fmt.Fprintf(&b, "%s:%q ", row.Type().Field(j).Name, fmt.Sprint(f.Interface()))
		}
		b.WriteString("} ")
	}
	return b.String()
}

// nested is depth brackets around a null, inside an array.
func nested(depth int) string {
	return "[" + strings.Repeat("[", depth) + "null" + strings.Repeat("]", depth) + "]"
}

// decoderCorners are bodies at the edges of v1's behaviour, each with
// the row bound it is read under.
func decoderCorners() []struct {
	name string
	body string
	max  int
} {
	return []struct {
		name string
		body string
		max  int
	}{
		{"an array of objects", `[{"portId":"1","snr":"40.1"},{"portId":"2"}]`, 0},
		{"a single object", `{"modelName":" CGNV4 ","vendorname":"Hitron"}`, 0},
		{"null", `null`, 0},
		{"an empty array", `[]`, 0},
		{"null elements", `[null,{"portId":"1"},null]`, 0},
		{"elements that are not objects", `[1,"a",true,[{"portId":"x"}],{"portId":"1"}]`, 0},
		{"a string page", `"portId"`, 0},
		{"a number page", `12`, 0},
		{"a boolean page", `false`, 0},
		{"numbers as raw text", `[{"portId":-1.50e+3,"snr":0}]`, 0},
		{"null, booleans, objects and arrays read empty", `[{"portId":null,"channelId":true,"snr":{"a":[1]},"frequency":[1,"2"]}]`, 0},
		{"strings trimmed", `[{"portId":"  1\t","modulation":"\u00a02\u00a0"}]`, 0},
		{"escapes", `[{"portId":"a\"b\\c\/d\n\u0041\ud83d\ude00"}]`, 0},
		{"a lone surrogate", `[{"portId":"\ud800x","snr":"\ud800\u0041","channelId":"\udc00"}]`, 0},
		{"invalid UTF-8 without escapes kept", "[{\"portId\":\"a\xffb\"}]", 0},
		{"invalid UTF-8 with escapes replaced", "[{\"portId\":\"a\xffb\\n\"}]", 0},
		{"invalid UTF-8 in a name", "[{\"port\xffId\":\"1\",\"snr\xff\":\"2\"}]", 0},
		{"duplicate names in a nested value", `[{"snr":{"a":1,"a":2},"portId":[{"b":1,"b":2}]}]`, 0},
		{"invalid UTF-8 in skipped values", "[{\"x\":\"\xff\",\"y\":[\"\xfe\"]},\"\xff\"]", 0},
		{"a form feed inside is not white space", "[\f{\"portId\":\"1\"}]", 0},
		{"two top-level arrays", `[] []`, 0},
		{"names matched regardless of case", `[{"PORTID":"1","Snr":"2","ChannelID":"3"}]`, 0},
		{"the exact name beats a folded one", `[{"snr":"exact","SNR":"folded"}]`, 0},
		{"the last duplicate wins", `[{"portId":"1","portId":"2","PortId":"3"}]`, 0},
		{"Unicode folding: Kelvin sign and long s", "[{\"\u017fnr\":\"1\",\"ran\u212aing\":\"2\"}]", 0},
		{"escaped names", `[{"port\u0049d":"1","\u0073nr":"2"}]`, 0},
		{"pointer fields: null clears, values set", `{"hwInit":"Success","ranging":null,"dhcp":{"x":1},"timeOfday":3}`, 0},
		{"pointer field set then cleared", `{"hwInit":"Success","hwInit":null,"dhcp":null,"dhcp":"1"}`, 0},
		{"field names of the Go struct unused", `[{"Port":"1","Channel":"2"}]`, 0},
		{"white space everywhere", " [ { \"portId\" : \"1\" , \"snr\" :\n2 } ,\tnull ] ", 0},
		{"Unicode white space trimmed outside", "\u00a0[{\"portId\":\"1\"}]\u0085", 0},
		{"bare nan and inf read as null", `[{"portId":"1","snr":nan,"signalStrength":-inf,"frequency":Infinity}]`, 0},
		{"bare nan in a single object", `{"modelName":nan}`, 0},
		{"malformed", `[{"portId":"1"`, 0},
		{"trailing comma", `[{"portId":"1"},]`, 0},
		{"leading comma", `[,{"portId":"1"}]`, 0},
		{"missing comma", `[{"portId":"1"} {"portId":"2"}]`, 0},
		{"data after the array", `[{"portId":"1"}] x`, 0},
		{"data after the object", `{"modelName":"a"} {}`, 0},
		{"a control character in a string", "[{\"portId\":\"a\x01\"}]", 0},
		{"a bad escape", `[{"portId":"\x"}]`, 0},
		{"a leading zero", `[{"portId":01}]`, 0},
		{"an empty body", ` `, 0},
		{"at the bound", `[{"portId":"1"},{"portId":"2"}]`, 2},
		{"one past the bound", `[{"portId":"1"},{"portId":"2"},{}]`, 2},
		{"nulls count toward the bound", `[null,null,null]`, 2},
		{"junk after the bound, streamed", `[1,2 x,]`, 2},
		{"a leading zero at the bound, streamed", `[01,2,3]`, 1},
		{"a truncated number at the bound, streamed", `[1,2,3.]`, 2},
		{"truncated, streamed", `[{"portId":"1"},{"portId":"2"},{"po`, 1},
		{"a brace closing the array, streamed", `[1,2,3}`, 8},
		{"a literal then junk, streamed", `[truex,1,2]`, 1},
		{"a misspelt literal, streamed", `[nul,1,2]`, 1},
		{"a string page with commas, streamed", `"a,b,c"`, 1},
		{"a trailing comma, streamed", `[1,2,]`, 2},
		{"data after the array, streamed", `[1,2] 3`, 1},
		{"a null page with commas, streamed", `[null,null]`, 1},
		{"bare nan, streamed", `[{"snr":nan},{"snr":"1"},{}]`, 2},
		{"depth 10000 in one pass", nested(9999), 0},
		{"depth 10001 in one pass", nested(10000), 0},
		{"element depth 10000 streamed with the bound", "[" + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + ",1]", 1},
		{"an object element of depth 10000 streamed with the bound", "[" + strings.Repeat(`{"a":`, 9999) + "{}" + strings.Repeat("}", 9999) + ",1]", 1},
		{"an object element of depth 10001 streamed", "[" + strings.Repeat(`{"a":`, 10000) + "{}" + strings.Repeat("}", 10000) + ",1]", 1},
		{"element depth 10001 streamed", "[" + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + ",1]", 1},
	}
}

// TestDecodeRowsMatchesV1: on the corners of v1's behaviour, decodeRows
// reads the rows and returns the error class v1 did, for every page
// struct.
func TestDecodeRowsMatchesV1(t *testing.T) {
	for _, tt := range decoderCorners() {
		t.Run(tt.name, func(t *testing.T) { sameAsV1(t, []byte(tt.body), tt.max) })
	}
}

// TestDecodeRowsFixturesMatchV1: every fixture page reads as under v1.
func TestDecodeRowsFixturesMatchV1(t *testing.T) {
	for _, path := range fixturePages(t) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(path, func(t *testing.T) { sameAsV1(t, body, 0) })
	}
}

// fixturePages lists the simulator's fixture files, every data set.
func fixturePages(t testing.TB) []string {
	paths, err := filepath.Glob(filepath.Join("..", "modemsim", "fixtures", "*", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return paths
}

// kelvinRow has a field whose name is not ASCII and folds to fewer bytes
// (the Kelvin sign folds to K), and one of 70 bytes (past the length
// filter's last bucket).
type kelvinRow struct {
	KB   flex
	Snr  flex `json:"snr"`
	Long flex `json:"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`
}

// TestRowTableMatchesV1Names: the table's length filter rejects no member
// v1 would match — exact and case-folded names, a name v1 folds to a
// non-ASCII field name's shorter folding, and names past 63 bytes — and
// members it rejects are skipped as v1 skips them.
func TestRowTableMatchesV1Names(t *testing.T) {
	long := strings.Repeat("a", 70)
	for _, tt := range []struct{ name, body string }{
		{"exact", `[{"snr":"1"}]`},
		{"folded case", `[{"SNR":"1","sNr":"2"}]`},
		{"ASCII member of a non-ASCII field name", `[{"kb":"3"}]`},
		{"the field's own non-ASCII name", `[{"KB":"4"}]`},
		{"unknown names of other lengths", `[{"x":"1","snrx":"2","":"3","sn":"4"}]`},
		{"unknown name of a field's length", `[{"snq":"5"}]`},
		{"a 70-byte name, exact and folded", `[{"` + long + `":"6"},{"` + strings.ToUpper(long) + `":"7"}]`},
		{"an unknown 64-byte name", `[{"` + long[:64] + `":"8"}]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, wantErr := v1DecodeRows[kelvinRow]([]byte(tt.body), 0)
			got, err := decodeRows[kelvinRow]([]byte(tt.body), 0)
			if err != nil || wantErr != nil {
				t.Fatalf("error %v, v1 %v", err, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("rows %s\nv1   %s", rowsText(got), rowsText(want))
			}
		})
	}
}

// TestRowTables: every page struct has a table; shapes the table does not
// cover are refused rather than read differently from v1.
func TestRowTables(t *testing.T) {
	for _, d := range rowDecoders() {
		if _, err := d.decode([]byte(`{}`), 0, false); err != nil {
			t.Errorf("%s: %v", d.name, err)
		}
	}
	type embedded struct{ flex }
	type notFlex struct {
		N int `json:"n"`
	}
	type twice struct {
		A flex `json:"B"`
		B flex
	}
	type oddTag struct {
		A flex `json:"a-b"`
	}
	type tagOptions struct {
		A flex `json:"a,string"`
	}
	for _, tt := range []struct {
		name   string
		decode func() error
	}{
		{"embedded", func() error { _, err := decodeRows[embedded]([]byte(`{}`), 0); return err }},
		{"not flex", func() error { _, err := decodeRows[notFlex]([]byte(`{}`), 0); return err }},
		{"a name twice", func() error { _, err := decodeRows[twice]([]byte(`{}`), 0); return err }},
		{"an unusual tag", func() error { _, err := decodeRows[oddTag]([]byte(`{}`), 0); return err }},
		{"tag options", func() error { _, err := decodeRows[tagOptions]([]byte(`{}`), 0); return err }},
		{"not a struct", func() error { _, err := decodeRows[flex]([]byte(`{}`), 0); return err }},
	} {
		if err := tt.decode(); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// FuzzDecodeRowsMatchesV1 holds decodeRows to the v1 oracle on arbitrary
// bodies and small row bounds (so both the one-pass and the streamed
// reading are reached), for every page struct.
func FuzzDecodeRowsMatchesV1(f *testing.F) {
	for _, path := range fixturePages(f) {
		if body, err := os.ReadFile(path); err == nil {
			f.Add(body, uint8(0))
			f.Add(body, uint8(3))
		}
	}
	for _, tt := range decoderCorners() {
		if len(tt.body) < 1000 {
			f.Add([]byte(tt.body), uint8(tt.max))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, max uint8) {
		sameAsV1(t, body, int(max%8))
	})
}

// BenchmarkParseDataPages decodes the default data set's (CGNV4-FX4)
// /data/ pages into their page structs, with decodeRows and with the v1
// oracle it replaced.
func BenchmarkParseDataPages(b *testing.B) {
	var pages [][]byte
	var decoders []rowDecoder
	for _, d := range rowDecoders() {
		body, err := os.ReadFile(filepath.Join("..", "modemsim", "fixtures", "CGNV4-FX4", d.name+".json"))
		if err != nil {
			continue
		}
		pages, decoders = append(pages, body), append(decoders, d)
	}
	if len(pages) == 0 {
		b.Fatal("no CGNV4-FX4 pages")
	}
	for _, c := range []struct {
		name string
		v1   bool
	}{{"decoder=encoding_json", true}, {"decoder=table", false}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i, d := range decoders {
					if _, err := d.decode(pages[i], 0, c.v1); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func TestDecodeRowsKeepsNoPageAlive(t *testing.T) {
	// A hostile page pads each short value with a lot of white space: what
	// the rows keep must be the values, not the page's bytes.
	pad := strings.Repeat(" ", 256<<10)
	tests := []struct {
		name string
		page string
	}{
		{"a large page, values padded inside their quotes", `[{"portId":"1` + pad + `","channelId":"` + pad + `2"}]`},
		{"a large page, values padded outside", `[{"portId":` + pad + `"1",` + pad + `"channelId":"2"}]`},
		{"a large escaped value", `[{"portId":"1\t` + pad + `","channelId":"2"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const pages = 8
			var kept [][]dsJSON
			before := liveHeap()
			for range pages {
				body := []byte(tt.page)
				rows, err := decodeRows[dsJSON](body, 0)
				if err != nil || len(rows) != 1 || rows[0].Port != "1" && rows[0].Port != "1\t" {
					t.Fatalf("rows %+v, %v", rows, err)
				}
				kept = append(kept, rows)
			}
			if grown := liveHeap() - before; grown > 64<<10 {
				t.Fatalf("%d pages' rows keep %d KiB alive; their values are a few bytes", pages, grown>>10)
			}
			runtime.KeepAlive(kept)
		})
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
