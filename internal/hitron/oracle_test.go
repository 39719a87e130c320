package hitron

// The encoding/json (v1) page decoder that decodeRowsJSON replaced,
// verbatim but for its names: the oracle of the differential tests, fuzz target
// and benchmark in rows_test.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// v1DecodeRows is decodeRows reading the page with encoding/json, as it
// did before: the trimming and the bare nan/inf retry are decodeRows'
// own (decodeRowsWith), unchanged.
func v1DecodeRows[T any](body []byte, maxRows int) ([]T, error) {
	return decodeRowsWith(body, maxRows, v1DecodeRowsJSON[T])
}

// v1DecodeRowsJSON is v1DecodeRows on a trimmed, non-empty body.
func v1DecodeRowsJSON[T any](body []byte, maxRows int) ([]T, error) {
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
		return v1DecodeArray[T](body)
	}
	return v1DecodeStream[T](body, maxRows)
}

// v1DecodeArray decodes an array in one pass, or element by element,
// skipping what is not an object, when the one pass fails.
func v1DecodeArray[T any](body []byte) ([]T, error) {
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

// v1DecodeStream decodes an array element by element, as v1DecodeArray does,
// and fails at the first element past maxRows: a hostile page costs no
// more than maxRows rows.
func v1DecodeStream[T any](body []byte, maxRows int) ([]T, error) {
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
