// Package strictjson is the one JSON decoder for untrusted request bodies.
//
// It refuses what encoding/json quietly accepts and what would let two
// readers of the same bytes see different values: duplicate object keys
// (encoding/json keeps the last, other parsers the first) and trailing data
// after the value. signet decodes every request body and compares every
// user-action payload with it (spec 12.2), so the comparison and the handler
// can never disagree.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxDepth bounds nesting so that a hostile body cannot exhaust the stack.
const MaxDepth = 64

// Check reports whether b is exactly one well-formed JSON value with no
// duplicate object keys and no nesting deeper than MaxDepth.
func Check(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := walk(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after JSON value")
	}
	return nil
}

func walk(dec *json.Decoder, depth int) error {
	if depth > MaxDepth {
		return errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return fmt.Errorf("malformed JSON: %w", err)
			}
			key, _ := k.(string)
			if seen[key] {
				return fmt.Errorf("duplicate JSON key %q", key)
			}
			seen[key] = true
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return fmt.Errorf("malformed JSON: %w", err)
	}
	return nil
}

// Decode checks b with Check and then unmarshals it into v. Unknown fields
// are ignored: the official SDKs of several versions send fields signet does
// not read, and rejecting them would break wire compatibility.
func Decode(b []byte, v any) error {
	if err := Check(b); err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("field %q: expected %s", te.Field, te.Type)
		}
		return errors.New("malformed JSON")
	}
	return nil
}

// Canonical returns a canonical encoding of the JSON value in b: object keys
// sorted, no insignificant space, numbers as written. An empty (or
// whitespace-only) b and "{}" both give "{}" (spec 12.2: an empty payload,
// an absent body and {} are equal).
func Canonical(b []byte) ([]byte, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return []byte("{}"), nil
	}
	if err := Check(b); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	return json.Marshal(v) // encoding/json sorts map keys
}
