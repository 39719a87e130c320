package hitron

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

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

// UnmarshalJSON implements json.Unmarshaler.
func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		*f = ""
	case b[0] == '"':
		if bytes.IndexByte(b[1:len(b)-1], '\\') < 0 {
			*f = flex(strings.TrimSpace(string(b[1 : len(b)-1])))
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(strings.TrimSpace(s))
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		*f = flex(b)
	default:
		*f = ""
	}
	return nil
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
	if maxRows <= 0 {
		maxRows = DefaultMaxPageRows
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrNotJSON)
	}
	rows, err := decodeRowsJSON[T](body, maxRows)
	if errors.Is(err, ErrNotJSON) {
		// Firmware that prints a C float may write a bare nan or inf,
		// which is not JSON: read those as null (the sample is dropped)
		// rather than losing the page.
		if clean, changed := nullNonFinite(body); changed {
			return decodeRowsJSON[T](clean, maxRows)
		}
	}
	return rows, err
}

// decodeRowsJSON is decodeRows on a trimmed, non-empty body.
func decodeRowsJSON[T any](body []byte, maxRows int) ([]T, error) {
	if body[0] == '{' {
		var row T
		if err := json.Unmarshal(body, &row); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
		return []T{row}, nil
	}
	// An array has at most one element more than the body has commas,
	// which is cheap to count: a page that cannot exceed the limit (every
	// real one) is decoded in one pass, any other element by element.
	if bytes.Count(body, []byte{','}) < maxRows {
		return decodeArray[T](body)
	}
	return decodeStream[T](body, maxRows)
}

// decodeArray decodes an array in one pass, or element by element,
// skipping what is not an object, when the one pass fails.
func decodeArray[T any](body []byte) ([]T, error) {
	// The common case, an array of objects, decodes in one pass; null
	// elements come out nil and are skipped.
	var ptrs []*T
	if err := json.Unmarshal(body, &ptrs); err == nil {
		rows := make([]T, 0, len(ptrs))
		for _, p := range ptrs {
			if p != nil {
				rows = append(rows, *p)
			}
		}
		return rows, nil
	}
	// Otherwise decode element by element, skipping what is not an object.
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	rows := make([]T, 0, len(raw))
	for _, el := range raw {
		if el = bytes.TrimSpace(el); len(el) == 0 || el[0] != '{' {
			continue
		}
		var row T
		if err := json.Unmarshal(el, &row); err != nil {
			continue
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// decodeStream decodes an array element by element, as decodeArray does,
// and fails at the first element past maxRows: a hostile page costs no
// more than maxRows rows.
func decodeStream[T any](body []byte, maxRows int) ([]T, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("%w: not an array of objects", ErrNotJSON)
	}
	var rows []T
	for n := 0; dec.More(); n++ {
		if n == maxRows {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyRows, maxRows)
		}
		// A null element comes out nil and is skipped; one that is not an
		// object (or does not fit T) fails with a type error, after which
		// the decoder stands past it.
		var p *T
		if err := dec.Decode(&p); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				continue
			}
			return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
		if p != nil {
			rows = append(rows, *p)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return nil, fmt.Errorf("%w: unterminated array", ErrNotJSON)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the array", ErrNotJSON)
	}
	return rows, nil
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
