package hitron

// This file fills the page structs (the *JSON types of page_*.go) from a
// page's JSON without encoding/json's reflection: a jsontext.Decoder
// (go-json-experiment, the encoding/json/v2 prototype) validates the
// page as it is read, with options that accept what encoding/json v1
// accepts (see newDecoder), and for each row object every member whose
// name a table (built once per page struct) matches, as v1 matches
// names, is handed to its field as the validated raw value; the value
// is read by flexOf, as the flex's UnmarshalJSON reads it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
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
	// lengths has bit min(n, 63) set for the byte length n of every
	// field's name and folded name: an ASCII member name (whose folding
	// keeps its length) of a length not in it matches no field, and the
	// pages have more members than their structs have fields.
	lengths uint64
}

// lengthBit is the bit of rowTable.lengths for a name of n bytes.
func lengthBit(n int) uint64 { return 1 << min(n, 63) }

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
		f := rowField{name: name, folded: string(appendFoldedName(nil, []byte(name))), index: i, ptr: sf.Type == flexPtrType}
		table.fields = append(table.fields, f)
		table.lengths |= lengthBit(len(f.name)) | lengthBit(len(f.folded))
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
	if t.lengths&lengthBit(len(name)) == 0 && isASCII(name) {
		return rowField{}, false
	}
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

// isASCII reports whether b is all ASCII.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// maxSharedPage bounds the pages whose values share one copy of the page
// (see pageText): past it each value is a copy of its own, so that a
// large page with a few short values does not keep all of it alive. A
// real modem's pages are a few KiB; a kept probe (the /modem page keeps
// one per modem) pins at most this much per page it read.
const maxSharedPage = 16 << 10

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

// flex reads the raw value b[lo:hi]: cut from the shared copy, or from
// a copy of its own (see ownFlexOf).
func (p pageText) flex(lo, hi int) (flex, error) {
	if p.s != "" {
		return flexOf(p.s[lo:hi])
	}
	return ownFlexOf(string(p.b[lo:hi]))
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
		if v, err = p.flex(lo, hi); err != nil {
			return fmt.Errorf("field %s: %w", f.name, err)
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

// pageDecoder is a jsontext.Decoder together with the buffer it reads
// (one allocation, not two), reusable for one input after another.
type pageDecoder struct {
	dec jsontext.Decoder
	in  bytes.Buffer
}

// reset points the decoder at b, which it reads in place, and returns
// it. It accepts what encoding/json v1 accepts: duplicate names, and
// invalid UTF-8 inside strings (flexOf and unquoteName read it as v1
// does). Its nesting limit is v1's, 10000, and its white space JSON's
// four bytes, as in v1.
func (p *pageDecoder) reset(b []byte) *jsontext.Decoder {
	p.in = *bytes.NewBuffer(b)
	p.dec.Reset(&p.in, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	return &p.dec
}

// rowReader reads a page's objects into rows of T.
type rowReader[T any] struct {
	table *rowTable
	page  pageText
	rows  []T
}

// object reads the object dec stands before as one more row; base is
// the offset in the page of dec's input. A member the row has is read
// from the validated raw value (see rowField.set); the others are only
// validated.
func (r *rowReader[T]) object(dec *jsontext.Decoder, base int) error {
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	var zero T
	r.rows = append(r.rows, zero)
	row := reflect.ValueOf(&r.rows[len(r.rows)-1]).Elem()
	// PeekKind is 0 on an error, which the next read returns.
	for dec.PeekKind() != '}' {
		quoted, err := dec.ReadValue()
		if err != nil {
			return err
		}
		name, err := unquoteName(quoted)
		if err != nil {
			return err
		}
		// The name is only valid until the next read.
		f, ok := r.table.field(name)
		value, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if ok {
			hi := base + int(dec.InputOffset())
			if err := f.set(row, r.page, hi-len(value), hi); err != nil {
				return err
			}
		}
	}
	_, err := dec.ReadToken()
	return err
}

// element reads the array element dec stands before: an object as a
// row, anything else only validated and skipped.
func (r *rowReader[T]) element(dec *jsontext.Decoder, base int) error {
	if dec.PeekKind() == '{' {
		return r.object(dec, base)
	}
	_, err := dec.ReadValue()
	return err
}

// notJSON wraps a decoder's error in ErrNotJSON.
func notJSON(err error) error { return fmt.Errorf("%w: %w", ErrNotJSON, err) }
