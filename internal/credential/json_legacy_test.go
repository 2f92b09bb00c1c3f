package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// legacyDecodeObject is decodeObject as it was before it read its tokens
// with jsontext (dfnscpu): encoding/json's Decoder.Token. The differential
// test and fuzz target hold the new one to its decisions and values.
func legacyDecodeObject(raw []byte) (map[string]any, error) {
	if !utf8.Valid(raw) {
		return nil, errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers are never converted, so 1e999 is no error

	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
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
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		f := &stack[len(stack)-1]
		if tok == json.Delim('}') || tok == json.Delim(']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if f.keys != nil && f.wantKey {
			key, ok := tok.(string)
			if !ok { // json.Decoder guarantees it; be safe anyway
				return nil, errors.New("object key is not a string")
			}
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
		var v any = tok
		if (tok == json.Delim('{') || tok == json.Delim('[')) && depth >= maxDepth {
			return nil, errors.New("JSON nested too deeply")
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: make(map[string]bool), wantKey: true})
			v = composite{}
		case json.Delim('['):
			stack = append(stack, frame{})
			v = composite{}
		}
		if depth == 1 {
			top[topKey] = v
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return top, nil
}

// decodeObjectInputs are inputs at the edges of decodeObject's rules.
func decodeObjectInputs() []string {
	nest := func(n int, open, close string) string {
		return `{"a":` + strings.Repeat(open, n) + strings.Repeat(close, n) + `}`
	}
	return []string{
		``, ` `, `{}`, ` {} `, "{}\n", `[]`, `null`, `"x"`, `1`, `{`, `}`, `{}}`, `{} {}`, `{}x`, `{},`, "\ufeff{}",
		`{"type":"key.get","challenge":"abc","origin":"https://app.dfns.io","crossOrigin":false}`,
		`{"type":"key.get","type":"key.get"}`, `{"a":{"b":1,"b":2}}`, `{"a":[{"b":1},{"b":1}]}`, `{"a":[{"b":1,"b":1}]}`,
		`{"\u0061":1,"a":2}`, `{"a\u0000":1,"a":2}`, `{"\ud800":1,"\udc00":2}`, `{"\ud800":1}`, `{"k":"\ud800"}`,
		`{"k":"\ud83d\ude00"}`, `{"k":"\udc00\ud800"}`, `{"k":"\ud800\u0041"}`, `{"k":"\u12"}`, `{"k":"\x"}`,
		"{\"k\":\"\x01\"}", "{\"k\":\"\xff\"}", "{\"k\":\"\xed\xa0\x80\"}", `{"k":"<>&\u2028"}`, `{"Type":"key.get"}`,
		`{"n":1e999}`, `{"n":-0}`, `{"n":01}`, `{"n":1.}`, `{"n":-}`, `{"n":1.5E+3}`, `{"n":.1}`, `{"b":true,"c":false,"d":null}`,
		`{"b":tru}`, `{"b":nul}`, `{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`, `{"a" 1}`, `{"a":[1,]}`, `{"a":[,1]}`, `{1:2}`,
		`{"a":{}}`, `{"a":[]}`, `{"a":[[],{}]}`, `{"a":"b"}  ` + "\t\r\n",
		nest(62, "[", "]"), nest(63, "[", "]"), nest(64, "[", "]"), nest(62, `{"x":`, "}"), nest(63, `{"x":`, "}"),
	}
}

// TestDecodeObjectSameAsLegacy: decodeObject accepts and refuses what its
// encoding/json version did, and returns the same members.
func TestDecodeObjectSameAsLegacy(t *testing.T) {
	for _, in := range decodeObjectInputs() {
		sameDecodeObject(t, []byte(in))
	}
}

func FuzzDecodeObjectSameAsLegacy(f *testing.F) {
	for _, in := range decodeObjectInputs() {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { sameDecodeObject(t, raw) })
}

func sameDecodeObject(t *testing.T, raw []byte) {
	t.Helper()
	got, err := decodeObject(raw)
	want, lerr := legacyDecodeObject(raw)
	if (err == nil) != (lerr == nil) {
		t.Fatalf("decodeObject(%q) = %v, legacy %v", raw, err, lerr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeObject(%q) = %#v, legacy %#v", raw, got, want)
	}
}
