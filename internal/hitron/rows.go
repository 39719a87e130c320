package hitron

// This file fills the page structs (the *JSON types of page_*.go) from a
// page's JSON without encoding/json's reflection: the stdlib validator
// (json.Valid, the scanner json.Unmarshal runs first) checks the bytes,
// a walker over the validated bytes finds each member, and a table built
// once per page struct maps a member's name to its field as
// encoding/json v1 does. Each value is handed to the field's own
// UnmarshalJSON, so a flex reads exactly what it read under
// json.Unmarshal.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// rowField is one JSON member of a page struct: the field's index and
// whether it is a *flex (null sets it nil) rather than a flex.
type rowField struct {
	index int
	ptr   bool
}

// rowTable maps JSON member names to the fields of one page struct, with
// encoding/json v1's lookup: the exact name, else the first field whose
// folded name matches the folded member name.
type rowTable struct {
	exact  map[string]rowField
	folded map[string]rowField
}

// rowTables caches a *rowTable (or the error building it) per page
// struct type. It is the only shared state here: written once per type,
// read by every decode, safe for concurrent use.
var rowTables sync.Map // reflect.Type → rowTableEntry

// rowTableEntry is one cached build of a table.
type rowTableEntry struct {
	table *rowTable
	err   error
}

var (
	flexType    = reflect.TypeFor[flex]()
	flexPtrType = reflect.TypeFor[*flex]()
)

// tableFor returns the cached table of T, building it on first use.
func tableFor[T any]() (*rowTable, error) {
	t := reflect.TypeFor[T]()
	if e, ok := rowTables.Load(t); ok {
		return e.(rowTableEntry).table, e.(rowTableEntry).err
	}
	table, err := buildRowTable(t)
	e, _ := rowTables.LoadOrStore(t, rowTableEntry{table, err})
	return e.(rowTableEntry).table, e.(rowTableEntry).err
}

// buildRowTable builds the table of a page struct. Only the shapes the
// pages use are accepted (a flat struct of flex and *flex fields, with
// distinct names), so that the lookup is encoding/json v1's without its
// embedding and dominance rules; anything else is an error.
func buildRowTable(t reflect.Type) (*rowTable, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("page row type %v is not a struct", t)
	}
	table := &rowTable{exact: map[string]rowField{}, folded: map[string]rowField{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, skip, err := jsonName(sf)
		if err != nil {
			return nil, fmt.Errorf("page row type %v: %w", t, err)
		}
		if skip {
			continue
		}
		if _, dup := table.exact[name]; dup {
			return nil, fmt.Errorf("page row type %v: JSON name %q used twice", t, name)
		}
		f := rowField{index: i, ptr: sf.Type == flexPtrType}
		table.exact[name] = f
		// As in v1, the first field of a folded name takes it.
		if key := string(appendFoldedName(nil, []byte(name))); !hasKey(table.folded, key) {
			table.folded[key] = f
		}
	}
	return table, nil
}

// hasKey reports whether m holds key.
func hasKey(m map[string]rowField, key string) bool {
	_, ok := m[key]
	return ok
}

// jsonName returns the JSON name of a struct field as v1 reads its tag,
// or skip for a field v1 ignores (unexported, or tagged "-"). Fields
// whose shape the table does not cover are an error.
func jsonName(sf reflect.StructField) (name string, skip bool, err error) {
	if sf.Anonymous {
		return "", false, fmt.Errorf("embedded field %s is not supported", sf.Name)
	}
	if !sf.IsExported() {
		return "", true, nil
	}
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return "", true, nil
	}
	if sf.Type != flexType && sf.Type != flexPtrType {
		return "", false, fmt.Errorf("field %s is a %v, not a flex or *flex", sf.Name, sf.Type)
	}
	name, _, _ = strings.Cut(tag, ",")
	if name == "" {
		return sf.Name, false, nil
	}
	if !plainName(name) {
		return "", false, fmt.Errorf("field %s: JSON name %q is not letters, digits and underscores", sf.Name, name)
	}
	return name, false, nil
}

// plainName reports whether a tag name is only ASCII letters, digits and
// underscores: names v1 takes as written.
func plainName(name string) bool {
	for _, c := range []byte(name) {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// appendFoldedName is encoding/json v1's appendFoldedName (fold.go):
// in appended to out with ASCII letters upper-cased and any other rune
// mapped to the smallest rune of its simple folding orbit, so that names
// equal under v1's case-insensitive match fold to the same bytes.
func appendFoldedName(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune is encoding/json v1's foldRune: the smallest rune of r's
// unicode.SimpleFold orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// field finds the field of a member name (unquoted), as v1 does.
func (t *rowTable) field(name []byte) (rowField, bool) {
	if f, ok := t.exact[string(name)]; ok {
		return f, true
	}
	var buf [64]byte
	f, ok := t.folded[string(appendFoldedName(buf[:0], name))]
	return f, ok
}

// maxSharedPage bounds the pages whose values share one copy of the page
// (see pageText): past it each value is a copy of its own, so that a
// large page with a few short values does not keep all of it alive.
const maxSharedPage = 64 << 10

// pageText is a page being read: its bytes and, for a page of at most
// maxSharedPage bytes, one string copy of them from which every value
// read is cut (one allocation a page instead of one a value).
type pageText struct {
	b []byte
	s string
}

// newPageText returns the pageText of b.
func newPageText(b []byte) pageText {
	if len(b) > maxSharedPage {
		return pageText{b: b}
	}
	return pageText{b: b, s: string(b)}
}

// text returns b[lo:hi] as a string.
func (p pageText) text(lo, hi int) string {
	if p.s != "" {
		return p.s[lo:hi]
	}
	return string(p.b[lo:hi])
}

// fill decodes the validated JSON object starting at p.b[i] into row (a
// settable struct value), member by member in order, so that of
// duplicate names the last wins. Unknown members are skipped.
func (t *rowTable) fill(row reflect.Value, p pageText, i int) error {
	b := p.b
	for i = skipSpace(b, i+1); i < len(b) && b[i] == '"'; {
		end, _ := stringEnd(b, i)
		name, err := unquoteName(b[i:end])
		if err != nil {
			return err
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		end, _ = valueEnd(b, i)
		if f, ok := t.field(name); ok {
			if err := f.set(row, p, i, end); err != nil {
				return fmt.Errorf("member %q: %w", name, err)
			}
		}
		if i = skipSpace(b, end); b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return nil
}

// set stores the raw JSON value p.b[lo:hi] in the field as v1 did
// through the flex's UnmarshalJSON (see flexOf); a *flex is set nil by
// null, and otherwise points to the value read.
func (f rowField) set(row reflect.Value, p pageText, lo, hi int) error {
	var v flex
	switch c := p.b[lo]; {
	case c == 'n' && f.ptr:
		*row.Field(f.index).Addr().Interface().(**flex) = nil
		return nil
	case c == '"' || c == '-' || c >= '0' && c <= '9':
		var err error
		if v, err = flexOf(p.text(lo, hi)); err != nil {
			return err
		}
	}
	if !f.ptr {
		*row.Field(f.index).Addr().Interface().(*flex) = v
		return nil
	}
	ptr := row.Field(f.index).Addr().Interface().(**flex)
	if *ptr == nil {
		*ptr = new(flex)
	}
	**ptr = v
	return nil
}

// unquoteName returns the text of a quoted, validated member name. One
// without escapes that is valid UTF-8 is its own bytes, as in v1;
// anything else is unquoted by encoding/json itself (escapes resolved,
// invalid UTF-8 and lone surrogates read as U+FFFD).
func unquoteName(quoted []byte) ([]byte, error) {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner, nil
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return nil, fmt.Errorf("member name %q: %w", quoted, err)
	}
	return []byte(s), nil
}

// isSpace reports whether c is JSON white space.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first byte at or after i that is
// not JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// valueEnd returns the end of the JSON value starting at b[i], as the v1
// scanner delimits it, and false where no value can start or end there.
// It does not validate: a string or an array or object is delimited by
// its closing quote or bracket (honouring strings and escapes), a number
// by its grammar, a literal by its spelling; json.Valid on b[i:end] says
// whether it is JSON.
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		return stringEnd(b, i)
	case c == '{' || c == '[':
		return containerEnd(b, i)
	case c == '-' || c >= '0' && c <= '9':
		return numberEnd(b, i)
	case c == 't':
		return literalEnd(b, i, "true")
	case c == 'f':
		return literalEnd(b, i, "false")
	case c == 'n':
		return literalEnd(b, i, "null")
	}
	return i, false
}

// stringEnd returns the index past the closing quote of the string
// starting at b[i].
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return len(b), false
}

// containerEnd returns the index past the bracket closing the array or
// object starting at b[i].
func containerEnd(b []byte, i int) (int, bool) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end, ok := stringEnd(b, j)
			if !ok {
				return end, false
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return j + 1, true
			}
		}
	}
	return len(b), false
}

// numberEnd returns the end of the JSON number starting at b[i]: where
// its grammar stops, as the v1 scanner ends it; false where the grammar
// cannot end (a lone minus, a point or exponent without digits).
func numberEnd(b []byte, i int) (int, bool) {
	j := i
	if b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		j = digitsEnd(b, j)
	default:
		return j, false
	}
	if j < len(b) && b[j] == '.' {
		if j = digitsEnd(b, j+1); !isDigit(b[j-1]) {
			return j, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j = digitsEnd(b, j); !isDigit(b[j-1]) {
			return j, false
		}
	}
	return j, true
}

// isDigit reports whether c is an ASCII digit.
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digitsEnd returns the index of the first non-digit at or after i.
func digitsEnd(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// literalEnd returns the end of the literal word starting at b[i], false
// where b does not spell it.
func literalEnd(b []byte, i int, word string) (int, bool) {
	if !bytes.HasPrefix(b[i:], []byte(word)) {
		return i, false
	}
	return i + len(word), true
}

// syntaxError is ErrNotJSON with the v1 scanner's account of why b is not
// JSON; it is only asked of bytes json.Valid rejected.
func syntaxError(b []byte) error {
	var v struct{}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	return fmt.Errorf("%w: invalid JSON", ErrNotJSON)
}
