package hitron

// This file fills the page structs (the *JSON types of page_*.go) from a
// page's JSON without encoding/json's reflection: one scan validates the
// bytes with encoding/json v1's grammar and nesting limit and, for each
// row object, hands every member whose name a table (built once per
// page struct) matches, as v1 matches names, to its field; the value is
// read as the flex's UnmarshalJSON reads it (flexOf).

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

// rowField is one JSON member of a page struct: its name, the name
// folded (appendFoldedName), the field's index, and whether it is a
// *flex (null sets it nil) rather than a flex.
type rowField struct {
	name, folded string
	index        int
	ptr          bool
}

// rowTable lists the JSON members of one page struct in field order, for
// encoding/json v1's lookup: the exact name, else the first field whose
// folded name is the folded member name. A page struct has a dozen
// fields at most, which a scan finds sooner than a map.
type rowTable struct {
	fields []rowField
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

// flexType and flexPtrType are the field types a page struct may have.
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
	table := &rowTable{}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, skip, err := jsonName(sf)
		if err != nil {
			return nil, fmt.Errorf("page row type %v: %w", t, err)
		}
		if skip {
			continue
		}
		if _, dup := table.lookup(name); dup {
			return nil, fmt.Errorf("page row type %v: JSON name %q used twice", t, name)
		}
		table.fields = append(table.fields, rowField{name: name, folded: string(appendFoldedName(nil, []byte(name))),
			index: i, ptr: sf.Type == flexPtrType})
	}
	return table, nil
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
	name, opts, _ := strings.Cut(tag, ",")
	if opts != "" {
		// ",string" would change how v1 reads the value.
		return "", false, fmt.Errorf("field %s: tag options %q are not supported", sf.Name, opts)
	}
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

// lookup finds the field of exactly this JSON name.
func (t *rowTable) lookup(name string) (rowField, bool) {
	for _, f := range t.fields {
		if f.name == name {
			return f, true
		}
	}
	return rowField{}, false
}

// field finds the field of a member name (unquoted), as v1 does: the
// exact name, else the first field of the same folded name.
func (t *rowTable) field(name []byte) (rowField, bool) {
	if f, ok := t.lookup(string(name)); ok {
		return f, true
	}
	var buf [64]byte
	folded := appendFoldedName(buf[:0], name)
	for _, f := range t.fields {
		if f.folded == string(folded) {
			return f, true
		}
	}
	return rowField{}, false
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

// rowFill is an object being read into a row: the row's table, the row
// (a settable struct value) and the page.
type rowFill struct {
	table *rowTable
	row   reflect.Value
	page  pageText
}

// member stores the member whose quoted, validated name is
// page.b[nameLo:nameHi] and whose validated raw value is page.b[lo:hi],
// if the row has it. It reports false where the value cannot be read,
// which a validated value never is.
func (r *rowFill) member(nameLo, nameHi, lo, hi int) bool {
	name, err := unquoteName(r.page.b[nameLo:nameHi])
	if err != nil {
		return false
	}
	f, ok := r.table.field(name)
	return !ok || f.set(r.row, r.page, lo, hi) == nil
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
	if plainASCII(inner) || bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner, nil
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return nil, fmt.Errorf("member name %q: %w", quoted, err)
	}
	return []byte(s), nil
}

// plainASCII reports whether b is ASCII without backslashes: a name's
// text as it stands, found sooner than by the general test.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
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

// maxDepth is encoding/json v1's nesting limit: at most this many
// arrays and objects open at once.
const maxDepth = 10000

// valueEnd validates the JSON value starting at b[i], inside depth open
// arrays and objects, and returns its end: where the v1 scanner ends it.
// False: no JSON value starts there.
func valueEnd(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		return stringEnd(b, i)
	case c == '{':
		return objectEnd(b, i, depth, nil)
	case c == '[':
		return arrayEnd(b, i, depth, nil)
	case c == '-' || isDigit(c):
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

// stringEnd validates the JSON string starting at b[i] and returns the
// index past its closing quote. As in v1, any byte from 0x20 up is
// taken as it is (invalid UTF-8 too); escapes must be JSON's.
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return j, false
		case c == '\\':
			end, ok := escapeEnd(b, j)
			if !ok {
				return end, false
			}
			j = end - 1
		}
	}
	return len(b), false
}

// escapeEnd validates the escape starting at b[i] (a backslash) and
// returns its end.
func escapeEnd(b []byte, i int) (int, bool) {
	if i+1 == len(b) {
		return i, false
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2, true
	case 'u':
		for j := i + 2; j < i+6; j++ {
			if j == len(b) || !isHex(b[j]) {
				return j, false
			}
		}
		return i + 6, true
	}
	return i, false
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// rowSink takes the object elements of a page's array as rows.
type rowSink interface {
	// object reads the object at b[i], inside depth open arrays and
	// objects, as a row, and returns its end.
	object(i, depth int) (int, bool)
}

// element validates the array element at b[i], inside depth open arrays
// and objects, and returns its end; with rows, an object is read as a
// row.
func element(b []byte, i, depth int, rows rowSink) (int, bool) {
	if rows != nil && i < len(b) && b[i] == '{' {
		return rows.object(i, depth)
	}
	return valueEnd(b, i, depth)
}

// arrayEnd validates the array starting at b[i], inside depth open
// arrays and objects, and returns the index past its closing bracket;
// with rows, its object elements are read as rows.
func arrayEnd(b []byte, i, depth int, rows rowSink) (int, bool) {
	if depth++; depth > maxDepth {
		return i, false
	}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		end, ok := element(b, i, depth, rows)
		if !ok {
			return end, false
		}
		more, end, ok := nextItem(b, end, ']')
		if !more {
			return end, ok
		}
		i = end
	}
}

// nextItem reads what follows an array element or object member at
// b[i]: a comma (more, and the index of the next item) or the closing
// bracket (its end); anything else is not JSON.
func nextItem(b []byte, i int, closing byte) (more bool, next int, ok bool) {
	if i = skipSpace(b, i); i == len(b) {
		return false, i, false
	}
	switch b[i] {
	case closing:
		return false, i + 1, true
	case ',':
		return true, skipSpace(b, i+1), true
	}
	return false, i, false
}

// objectEnd validates the object starting at b[i], inside depth open
// arrays and objects, and returns the index past its closing brace;
// with into, each member is handed to it, in order.
func objectEnd(b []byte, i, depth int, into *rowFill) (int, bool) {
	if depth++; depth > maxDepth {
		return i, false
	}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i == len(b) || b[i] != '"' {
			return i, false
		}
		nameEnd, ok := stringEnd(b, i)
		if !ok {
			return nameEnd, false
		}
		colon := skipSpace(b, nameEnd)
		if colon == len(b) || b[colon] != ':' {
			return colon, false
		}
		lo := skipSpace(b, colon+1)
		hi, ok := valueEnd(b, lo, depth)
		if !ok || into != nil && !into.member(i, nameEnd, lo, hi) {
			return hi, false
		}
		more, end, ok := nextItem(b, hi, '}')
		if !more {
			return end, ok
		}
		i = end
	}
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
// JSON; it is only asked of bytes the scan rejected.
func syntaxError(b []byte) error {
	var v struct{}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	return fmt.Errorf("%w: invalid JSON", ErrNotJSON)
}
