// Package eventlog reads a cable modem's DOCSIS event log and remembers, per
// modem, which of its events have been counted. The log is a rolling buffer
// the modem keeps of {index, time, event ID, priority, text}; the exporter
// turns it into gauges of what the log holds now and counters of events seen
// for the first time, each event counted once however many probes see it.
//
// Nothing here does I/O: the modem client fetches the page, ParseRows reads
// its rows, and a Memory, held in the per-modem state, counts them.
//
// Event text is kept on an Entry (bounded, for logs and debugging) but never
// reaches a metric label: it carries MAC addresses and is unbounded.
package eventlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds on what one log may bring in. A modem's buffer holds tens of entries
// (the DOCSIS event table is typically 50 to 100 rows); the caps only guard
// against a broken or hostile answer.
const (
	// MaxEntries is the most rows read from one log; the rest are dropped
	// and counted in Log.Dropped.
	MaxEntries = 1024
	// MaxTextBytes bounds an entry's text.
	MaxTextBytes = 512
)

// Priority is a DOCSIS event priority (DOCSIS OSSI specification, event
// priorities: 1 emergency … 8 debug). Zero means the modem gave none the
// exporter understands.
type Priority uint8

// The DOCSIS priorities.
const (
	PriorityUnknown Priority = iota
	Emergency
	Alert
	Critical
	Error
	Warning
	Notice
	Information
	Debug
)

// NumPriorities sizes arrays indexed by Priority (unknown included).
const NumPriorities = int(Debug) + 1

var priorityNames = [NumPriorities]string{
	"unknown", "emergency", "alert", "critical", "error", "warning", "notice", "information", "debug",
}

// String returns the label value: "emergency" … "debug", or "unknown".
func (p Priority) String() string {
	if int(p) < NumPriorities {
		return priorityNames[p]
	}
	return priorityNames[PriorityUnknown]
}

// Priorities lists the eight DOCSIS priorities, most severe first.
func Priorities() []Priority {
	return []Priority{Emergency, Alert, Critical, Error, Warning, Notice, Information, Debug}
}

// priorityAliases are the spellings firmware and clients use besides the
// names above (syslog abbreviations, "Info", "Informational").
var priorityAliases = map[string]Priority{
	"emerg": Emergency, "crit": Critical, "err": Error, "warn": Warning,
	"info": Information, "informational": Information,
}

// ParsePriority reads a priority as firmware writes it: a digit ("4", as
// the REST CM/Log does), a digit followed by a name ("3- Critical", as some
// web pages print it), or a name in any case ("critical", "Error"). Anything
// else is PriorityUnknown.
func ParsePriority(s string) Priority {
	s = strings.TrimSpace(s)
	if s == "" {
		return PriorityUnknown
	}
	if c := s[0]; c >= '1' && c <= '8' && (len(s) == 1 || !isDigit(s[1])) {
		return Priority(c - '0')
	}
	name := strings.ToLower(s)
	for p, n := range priorityNames {
		if p > 0 && name == n {
			return Priority(p)
		}
	}
	return priorityAliases[name]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Entry is one row of the event log.
type Entry struct {
	// Index is the row's index in the modem's buffer; it restarts when the
	// buffer wraps or is cleared, so it identifies a row only together
	// with Time and EventID.
	Index int64
	// Time is when the modem logged the event, read in the modem's
	// configured time zone; zero when the row's time was unreadable.
	Time time.Time
	// EventID is the DOCSIS event ID in decimal ("82000200"), or "" when
	// the row carried none that is a valid 32-bit unsigned number.
	EventID string
	// Priority is the DOCSIS priority.
	Priority Priority
	// Text is the event's text, at most MaxTextBytes of valid UTF-8. It
	// must never become a label value.
	Text string
}

// Log is what ParseRows read from one log page.
type Log struct {
	// Entries are the readable rows, in the page's order, at most
	// MaxEntries.
	Entries []Entry
	// Dropped counts rows that were not objects, or beyond MaxEntries.
	Dropped int
}

// ErrNotJSON is returned (wrapped) when the rows are not a JSON array.
var ErrNotJSON = errors.New("event log is not a JSON array")

// scalar is a JSON string or number read as a trimmed string; other JSON
// values read as "".
type scalar string

// UnmarshalJSON implements json.Unmarshaler.
func (s *scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = scalar(strings.TrimSpace(v))
	case len(b) > 0 && (b[0] == '-' || isDigit(b[0])):
		*s = scalar(b)
	default:
		*s = ""
	}
	return nil
}

// row is one log row as both the REST CM/Log (Log_List) and the CGN-family
// clients' reading of /data/status_log.asp name its fields.
type row struct {
	Index    scalar `json:"index"`
	Time     scalar `json:"time"`
	Type     scalar `json:"type"`
	Priority scalar `json:"priority"`
	Event    scalar `json:"event"`
}

// timeLayouts are the log time formats: month/day/year as the REST CM/Log
// writes it ("11/15/2020 03:57:38"), without seconds, and with a two-digit
// year (a CODA client reads /data/status_log.asp so; unverified).
var timeLayouts = []string{
	"01/02/2006 15:04:05", "1/2/2006 15:04:05", "01/02/2006 15:04", "1/2/2006 15:04",
	"01/02/06 15:04:05",
}

// ParseTime reads a log time in loc (UTC when nil). It reports false for
// a time in none of the known layouts.
func ParseTime(s string, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	s = strings.Join(strings.Fields(s), " ")
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ErrTooManyRows: the log has more rows than the caller's bound.
var ErrTooManyRows = errors.New("event log has too many rows")

// ParseRows reads a JSON array of log rows, the REST CM/Log's Log_List.
// Each row becomes an Entry; a row that is not an object is dropped and
// counted, and so is every row beyond MaxEntries. Odd fields never fail the
// log: an unreadable time is zero, an unreadable ID "", an unknown priority
// PriorityUnknown. Times are read in loc, the modem's configured zone.
func ParseRows(rows []byte, loc *time.Location) (Log, error) { return ParseRowsLimit(rows, loc, 0) }

// ParseRowsLimit is ParseRows failing with ErrTooManyRows at the first row
// past maxRows (0: no bound), before it has decoded more than maxRows: a
// hostile array of millions of tiny elements costs maxRows rows, not one
// allocation per element.
func ParseRowsLimit(rows []byte, loc *time.Location, maxRows int) (Log, error) {
	rows = bytes.TrimSpace(rows)
	if len(rows) == 0 || rows[0] != '[' {
		return Log{}, fmt.Errorf("%w: %d bytes", ErrNotJSON, len(rows))
	}
	// An array has at most one element more than it has commas: a log
	// that cannot pass the bound (every real one) is read in one pass.
	if maxRows <= 0 || bytes.Count(rows, []byte{','}) < maxRows {
		var raw []json.RawMessage
		if err := json.Unmarshal(rows, &raw); err != nil {
			return Log{}, fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
		var log Log
		log.Entries = make([]Entry, 0, min(len(raw), MaxEntries))
		for _, el := range raw {
			log.add(el, loc)
		}
		return log, nil
	}
	dec := json.NewDecoder(bytes.NewReader(rows))
	if _, err := dec.Token(); err != nil {
		return Log{}, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	var log Log
	for n := 0; dec.More(); n++ {
		if n == maxRows {
			return Log{}, fmt.Errorf("%w: more than %d", ErrTooManyRows, maxRows)
		}
		var el json.RawMessage
		if err := dec.Decode(&el); err != nil {
			return Log{}, fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
		log.add(el, loc)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return Log{}, fmt.Errorf("%w: unterminated array", ErrNotJSON)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Log{}, fmt.Errorf("%w: data after the array", ErrNotJSON)
	}
	return log, nil
}

// add reads one array element into the log, or counts it dropped.
func (log *Log) add(el json.RawMessage, loc *time.Location) {
	el = bytes.TrimSpace(el)
	if len(log.Entries) == MaxEntries || len(el) == 0 || el[0] != '{' {
		log.Dropped++
		return
	}
	var r row
	if err := json.Unmarshal(el, &r); err != nil {
		log.Dropped++
		return
	}
	log.Entries = append(log.Entries, r.entry(loc))
}

func (r row) entry(loc *time.Location) Entry {
	e := Entry{Priority: ParsePriority(string(r.Priority)), EventID: eventID(string(r.Type)), Text: clip(string(r.Event))}
	if i, err := strconv.ParseInt(string(r.Index), 10, 64); err == nil {
		e.Index = i
	}
	if t, ok := ParseTime(string(r.Time), loc); ok {
		e.Time = t
	}
	return e
}

// eventID returns s as a canonical decimal 32-bit unsigned number, or "".
func eventID(s string) string {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

// clip bounds text to MaxTextBytes of valid UTF-8.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxTextBytes {
		return s
	}
	s = s[:MaxTextBytes]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// InLocation re-reads each entry's time as the same wall clock in loc
// (entries read in UTC, then placed in the modem's configured zone).
func InLocation(entries []Entry, loc *time.Location) {
	if loc == nil {
		return
	}
	for i, e := range entries {
		if t := e.Time; !t.IsZero() {
			entries[i].Time = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
		}
	}
}
