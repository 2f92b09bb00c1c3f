package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// maxDepth bounds the nesting of JSON inputs. Key-credential JSON is flat;
// encoding/json refuses more than 10000 levels in Unmarshal and Valid but not
// in Decoder.Token, so without a bound of its own decodeObject would accept
// what the rest of the program refuses.
const maxDepth = 64

// composite stands for an object or array value in the result of
// decodeObject; this package never needs their contents.
type composite struct{}

// decodeObject decodes a JSON object the way signet reads every JSON input:
// valid UTF-8, exactly one value, an object at the top, at most maxDepth
// levels, and no duplicate key in any object at any depth (spec 12.2: a
// duplicate key could make two parsers see two different values, so it is
// rejected everywhere).
//
// It returns the top-level members: string, bool, json.Number or nil for
// scalars, composite{} for objects and arrays. Keys are matched exactly,
// unlike encoding/json's case-insensitive struct decoding, so {"Type": …}
// can never stand in for {"type": …}.
func decodeObject(raw []byte) (map[string]any, error) {
	if !utf8.Valid(raw) {
		return nil, errors.New("invalid UTF-8")
	}
	// Read as encoding/json read it before (json_legacy_test.go): a lone
	// surrogate escape is U+FFFD (raw bytes are valid UTF-8, checked
	// above), and duplicate keys are looked for here, among the keys as
	// read. jsontext's token reader allocates far less than
	// json.Decoder.Token (docs/performance.md, "dfnscpu").
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	if tok.Kind() != '{' {
		return nil, errors.New("not a JSON object")
	}

	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	top := make(map[string]any)
	stack := []frame{{keys: make(map[string]bool), wantKey: true}}
	var topKey string
	for len(stack) > 0 {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		f := &stack[len(stack)-1]
		kind := tok.Kind()
		if kind == '}' || kind == ']' {
			stack = stack[:len(stack)-1]
			continue
		}
		if f.keys != nil && f.wantKey {
			key := tok.String() // jsontext gives nothing but a string here
			if f.keys[key] {
				return nil, fmt.Errorf("duplicate key %q", key)
			}
			f.keys[key] = true
			f.wantKey = false
			if len(stack) == 1 {
				topKey = key
			}
			continue
		}
		// A value, in an object (after its key) or in an array.
		f.wantKey = true
		depth := len(stack)
		if (kind == '{' || kind == '[') && depth >= maxDepth {
			return nil, errors.New("JSON nested too deeply")
		}
		var v any
		switch kind {
		case '{':
			stack = append(stack, frame{keys: make(map[string]bool), wantKey: true})
			v = composite{}
		case '[':
			stack = append(stack, frame{})
			v = composite{}
		case '"':
			v = tok.String()
		case 't', 'f':
			v = tok.Bool()
		case '0':
			v = json.Number(tok.String()) // as written: never converted, so 1e999 is no error
		}
		if depth == 1 {
			top[topKey] = v
		}
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return top, nil
}

// stringMember returns the string member name of obj; present is false if it
// is absent or null. Any other type is an error.
func stringMember(obj map[string]any, name string) (s string, present bool, err error) {
	switch v := obj[name].(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	default:
		return "", false, fmt.Errorf("%s is not a string", name)
	}
}

// boolMember is stringMember for booleans.
func boolMember(obj map[string]any, name string) (b bool, present bool, err error) {
	switch v := obj[name].(type) {
	case nil:
		return false, false, nil
	case bool:
		return v, true, nil
	default:
		return false, false, fmt.Errorf("%s is not a boolean", name)
	}
}

// marshalCompact encodes v as compact JSON without HTML escaping, as
// JavaScript's JSON.stringify does for the strings found in Key credentials
// (spec 3.5): '<', '>' and '&' are left alone. Maps are written with sorted
// keys.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
