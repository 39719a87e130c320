package hitron

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
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
	// EventLog is the DOCSIS event log: /data/status_log.asp on the
	// /data/ families (not fetched: see fetchDataPage), CM/Log on the REST
	// family.
	EventLog Dataset = "status_log"
)

// DefaultDatasets are fetched when the configuration names none, in this
// order. getConnectInfo is left out: it is the slowest page on the device
// (nearly 2 s on a CGNV4) and only gives client counts.
var DefaultDatasets = []Dataset{SystemModel, SysInfo, CMInit, DocsisWan, Downstream, Upstream, OFDM, OFDMA, LinkStatus, EventLog}

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
	// EventLog is the DOCSIS event log as read, its times read as UTC wall
	// clocks (the probe re-reads them in the target's zone); nil when the
	// page was not read.
	EventLog *eventlog.Log
}

// ErrNotJSON is returned (wrapped) when a data page is not JSON of the
// expected shape.
var ErrNotJSON = errors.New("response is not the expected JSON")

// flex is a JSON value read as a trimmed string: the firmware writes
// numbers as strings, but some pages use JSON numbers; null, objects and
// arrays read as "".
type flex string

// UnmarshalJSON implements json.Unmarshaler (the REST pages decode
// through encoding/json); it reads b as the /data/ pages' decoder does.
func (f *flex) UnmarshalJSON(b []byte) error {
	v, err := ownFlexOf(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// flexOf reads the text of one raw JSON value as a flex, sharing text's
// memory: a string unquoted (unescaped as encoding/json does) and
// trimmed, a number as written, anything else "".
func flexOf(text string) (flex, error) {
	text = strings.TrimSpace(text)
	switch {
	case len(text) == 0:
		return "", nil
	case text[0] == '"':
		inner := text[1 : len(text)-1]
		if strings.IndexByte(inner, '\\') < 0 {
			return flex(strings.TrimSpace(inner)), nil
		}
		var s string
		if err := json.Unmarshal([]byte(text), &s); err != nil {
			return "", err
		}
		return flex(strings.TrimSpace(s)), nil
	case text[0] == '-' || text[0] >= '0' && text[0] <= '9':
		return flex(text), nil
	}
	return "", nil
}

// ownFlexOf is flexOf on a copy made for this one value: a value cut out
// of it (quotes, padding) is copied again, so that it does not keep the
// whole copy alive (a short value padded with a megabyte of spaces).
func ownFlexOf(text string) (flex, error) {
	v, err := flexOf(text)
	if err == nil && len(v) < len(text) {
		v = flex(strings.Clone(string(v)))
	}
	return v, err
}

func (f flex) String() string { return string(f) }

// DefaultMaxPageRows bounds the rows decoded from one page. A real modem
// lists a few dozen channels and at most a few hundred LAN clients.
const DefaultMaxPageRows = 1024

// ErrTooManyRows is returned (wrapped) when a page lists more rows than
// the limit. It wraps ErrTooLarge.
var ErrTooManyRows = fmt.Errorf("%w: too many rows", ErrTooLarge)

// decodeRows decodes a page into rows of T, at most maxRows of them (0:
// DefaultMaxPageRows). It accepts an array of objects or a single object;
// array elements that are not objects are skipped but counted. A page
// over the limit is ErrTooManyRows, found before more than maxRows rows
// are decoded.
func decodeRows[T any](body []byte, maxRows int) ([]T, error) {
	return decodeRowsWith(body, maxRows, decodeRowsJSON[T])
}

// decodeRowsWith is decodeRows reading the trimmed, non-empty body with
// decode (the tests' oracle plugs in the encoding/json reading here).
func decodeRowsWith[T any](body []byte, maxRows int, decode func([]byte, int) ([]T, error)) ([]T, error) {
	if maxRows <= 0 {
		maxRows = DefaultMaxPageRows
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrNotJSON)
	}
	rows, err := decode(body, maxRows)
	if errors.Is(err, ErrNotJSON) {
		// Firmware that prints a C float may write a bare nan or inf,
		// which is not JSON: read those as null (the sample is dropped)
		// rather than losing the page.
		if clean, changed := nullNonFinite(body); changed {
			return decode(clean, maxRows)
		}
	}
	return rows, err
}

// decodeRowsJSON is decodeRows on a trimmed, non-empty body. A body that
// cannot exceed the limit (fewer commas than maxRows: every real page)
// is read in one pass that validates the whole of it, as json.Unmarshal
// did; any other array element by element (see decodeStream).
func decodeRowsJSON[T any](body []byte, maxRows int) ([]T, error) {
	table, err := tableFor[T]()
	if err != nil {
		return nil, err
	}
	// An array has at most one element more than the body has commas.
	commas := bytes.Count(body, []byte{','})
	if body[0] != '{' && commas >= maxRows {
		return decodeStream[T](body, maxRows, table)
	}
	r := &rowReader[T]{table: table, page: newPageText(body)}
	dec := new(pageDecoder).reset(body)
	switch body[0] {
	case '{':
		err = r.object(dec, 0)
	case '[':
		// Room for every object, as far as the commas allow: no more
		// than maxRows rows.
		r.rows = make([]T, 0, min(bytes.Count(body, []byte{'{'}), commas+1))
		err = readArray(dec, func() error { return r.element(dec, 0) })
	default:
		_, err = dec.ReadValue()
	}
	if err == nil {
		err = atEOF(dec)
	}
	if err != nil {
		return nil, notJSON(err)
	}
	switch body[0] {
	case '{', '[':
		return r.rows, nil
	case 'n':
		return []T{}, nil // null: no rows
	}
	return nil, fmt.Errorf("%w: a JSON %s, not an array or object", ErrNotJSON, kindOf(body[0]))
}

// readArray reads the array dec stands before, calling element before
// each of its elements.
func readArray(dec *jsontext.Decoder, element func() error) error {
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	// PeekKind is 0 on an error, which the next read returns.
	for dec.PeekKind() != ']' {
		if err := element(); err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
}

// atEOF reports an error unless dec's input holds nothing more than
// white space.
func atEOF(dec *jsontext.Decoder) error {
	switch _, err := dec.ReadToken(); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return err
	}
	return errors.New("data after the top-level value")
}

// kindOf names the kind of JSON value that starts with c.
func kindOf(c byte) string {
	switch c {
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

// decodeStream reads an array element by element, validating each as it
// comes, as encoding/json's Decoder did (Token, More, Decode): it fails
// at the first element past maxRows, so a hostile page costs no more
// than maxRows rows, and of what follows the limit reads one byte, as
// the Decoder did. The commas and brackets of the array are read here,
// as the Decoder read them; each element is a JSON value of its own to
// the Decoder (its depth counts from 0), so each is read by a decoder of
// its own.
func decodeStream[T any](body []byte, maxRows int, table *rowTable) ([]T, error) {
	if body[0] != '[' {
		return nil, fmt.Errorf("%w: not an array of objects", ErrNotJSON)
	}
	// Each value a copy of its own: only a prefix may be read.
	r := &rowReader[T]{table: table, page: pageText{b: body}}
	var pd pageDecoder
	i := 1
	for n := 0; ; n++ {
		// More: another element unless the array (or input) ends here.
		if i = skipSpace(body, i); i == len(body) || body[i] == ']' || body[i] == '}' {
			break
		}
		if n == maxRows {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyRows, maxRows)
		}
		if n > 0 {
			if body[i] != ',' {
				return nil, fmt.Errorf("%w: expected comma after array element %d", ErrNotJSON, n-1)
			}
			i = skipSpace(body, i+1)
		}
		dec := pd.reset(body[i:])
		if err := r.element(dec, i); err != nil {
			return nil, fmt.Errorf("%w: array element %d: %w", ErrNotJSON, n, err)
		}
		i += int(dec.InputOffset())
	}
	if i == len(body) || body[i] != ']' {
		return nil, fmt.Errorf("%w: unterminated array", ErrNotJSON)
	}
	if skipSpace(body, i+1) != len(body) {
		return nil, fmt.Errorf("%w: data after the array", ErrNotJSON)
	}
	return r.rows, nil
}

// skipSpace returns the index of the first byte at or after i that is
// not JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// nonFinite are the bare words C printf and friends write for non-finite
// floats, lower-cased.
var nonFinite = map[string]bool{"nan": true, "-nan": true, "+nan": true, "inf": true, "-inf": true, "+inf": true,
	"infinity": true, "-infinity": true, "+infinity": true}

// nullNonFinite replaces bare non-finite words outside JSON strings with
// null, and reports whether it replaced any.
func nullNonFinite(body []byte) ([]byte, bool) {
	var out []byte
	inString, escaped := false, false
	last := 0
	for i := 0; i < len(body); i++ {
		c := body[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		if !(c == '-' || c == '+' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			continue
		}
		j := i
		for j < len(body) && (body[j] == '-' || body[j] == '+' || body[j] >= 'a' && body[j] <= 'z' || body[j] >= 'A' && body[j] <= 'Z') {
			j++
		}
		if nonFinite[strings.ToLower(string(body[i:j]))] {
			out = append(out, body[last:i]...)
			out = append(out, "null"...)
			last = j
		}
		i = j - 1
	}
	if out == nil {
		return body, false
	}
	return append(out, body[last:]...), true
}

// firstRow decodes a single-record page.
func firstRow[T any](body []byte, maxRows int) (T, error) {
	rows, err := decodeRows[T](body, maxRows)
	if err != nil {
		var zero T
		return zero, err
	}
	if len(rows) == 0 {
		var zero T
		return zero, fmt.Errorf("%w: no record", ErrNotJSON)
	}
	return rows[0], nil
}

// pageReader reads one page's answer into d, with at most maxRows rows.
type pageReader func(d *Data, body []byte, maxRows int) error

// pages maps each dataset to its reader. Each page has a file of its own,
// page_<name>.go, with its exported rows, its JSON shape and its reader:
// a new page is that file, one line here and one in KnownDatasets.
var pages = map[Dataset]pageReader{
	SystemModel: parseModelPage,
	SysInfo:     parseSysInfoPage,
	CMInit:      parseCMInitPage,
	DocsisWan:   parseDocsisWanPage,
	Downstream:  parseDownstreamPage,
	Upstream:    parseUpstreamPage,
	OFDM:        parseOFDMPage,
	OFDMA:       parseOFDMAPage,
	LinkStatus:  parseLinkPage,
	ConnectInfo: parseConnectPage,
	EventLog:    parseEventLogPage,
}

// Parse decodes one dataset's body into d, with at most
// DefaultMaxPageRows rows.
func (d *Data) Parse(ds Dataset, body []byte) error {
	return d.ParseLimit(ds, body, DefaultMaxPageRows)
}

// ParseLimit decodes one dataset's body into d. A page of more than
// maxRows rows (0: DefaultMaxPageRows), or a bpiStatus of more than
// maxRows pairs, is ErrTooManyRows and leaves d as it was.
func (d *Data) ParseLimit(ds Dataset, body []byte, maxRows int) error {
	if maxRows <= 0 {
		maxRows = DefaultMaxPageRows
	}
	read, ok := pages[ds]
	if !ok {
		return fmt.Errorf("unknown dataset %q", ds)
	}
	return read(d, body, maxRows)
}
