package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// FuzzCompare feeds (signed payload, body) pairs to the comparison signet
// makes (spec 12.2: Canonical on both, then equality) and fails if two
// inputs compare equal that a standards-conforming parser reads as
// different values. The reference reader below keeps what encoding/json
// loses: a string is its exact sequence of UTF-16 code units (as
// JavaScript's JSON.parse gives it, lone surrogates included), a byte that
// is not UTF-8 stays that byte, and a number is its literal text (stricter
// than equal numeric values, so it can only find more merges, never hide
// one). Seed corpus: testdata/fuzz/FuzzCompare.
func FuzzCompare(f *testing.F) {
	for _, p := range [][2]string{
		{`{"a":"\ud800"}`, `{"a":"\udfff"}`},
		{`{"a":"\ud800"}`, `{"a":"\ufffd"}`},
		{"{\"a\":\"\xff\"}", `{"a":"\ufffd"}`},
		{`{"name":"a","Name":"b"}`, `{"Name":"b","name":"a"}`},
		{`{"b":1,"a":[1,"x"]}`, `{"a":[1,"x"],"b":1}`},
		{``, `{}`},
		{`{"a":"\u00e9"}`, `{"a":"é"}`},
		{`{"a":"\ud83d\ude00"}`, `{"a":"😀"}`},
		{`{"a":1}`, `{"a":1.0}`},
	} {
		f.Add([]byte(p[0]), []byte(p[1]))
	}
	f.Fuzz(func(t *testing.T, signed, body []byte) {
		cs, err := Canonical(signed)
		if err != nil {
			return
		}
		cb, err := Canonical(body)
		if err != nil || !bytes.Equal(cs, cb) {
			return
		}
		rs, okS := reference(signed)
		rb, okB := reference(body)
		if !okS || !okB {
			t.Fatalf("Canonical accepted input the reference reader refuses: %q / %q", signed, body)
		}
		if !reflect.DeepEqual(rs, rb) {
			t.Fatalf("%q and %q compare equal (%s) but read differently:\n%#v\n%#v", signed, body, cs, rs, rb)
		}
	})
}

// units is a JSON string as a conforming parser reads it: UTF-16 code
// units, and 0x10000+b for a byte b that is not part of valid UTF-8.
type units string

// reference reads b as one JSON value into maps, slices, json.Number, bool,
// nil and units. An empty b reads as {} (spec 12.2). Structure comes from
// encoding/json's tokenizer; each string's raw literal (found through
// InputOffset) is decoded here independently of encoding/json.
func reference(b []byte) (any, bool) {
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, true
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, ok := refValue(dec, b)
	if _, err := dec.Token(); !ok || err == nil {
		return nil, false
	}
	return v, true
}

func refValue(dec *json.Decoder, b []byte) (any, bool) {
	before := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return nil, false
	}
	switch t := tok.(type) {
	case string:
		return refString(b[before:dec.InputOffset()])
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				k, ok := refValue(dec, b)
				if !ok {
					return nil, false
				}
				v, ok := refValue(dec, b)
				if !ok {
					return nil, false
				}
				m[string(k.(units))] = v
			}
			_, err := dec.Token()
			return m, err == nil
		case '[':
			a := []any{}
			for dec.More() {
				v, ok := refValue(dec, b)
				if !ok {
					return nil, false
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err == nil
		}
		return nil, false
	default:
		return tok, true // json.Number, bool, nil
	}
}

// refString decodes the raw string literal at the end of raw (which may
// start with the ',' or ':' before it) per RFC 8259 §7.
func refString(raw []byte) (any, bool) {
	i := bytes.IndexByte(raw, '"')
	if i < 0 || len(raw) < i+2 || raw[len(raw)-1] != '"' {
		return nil, false
	}
	s := raw[i+1 : len(raw)-1]
	var out []rune
	for len(s) > 0 {
		if s[0] != '\\' {
			r, n := utf8.DecodeRune(s)
			if r == utf8.RuneError && n <= 1 {
				out = append(out, 0x10000+rune(s[0]))
				s = s[1:]
				continue
			}
			for _, u := range utf16.Encode([]rune{r}) {
				out = append(out, rune(u))
			}
			s = s[n:]
			continue
		}
		if len(s) < 2 {
			return nil, false
		}
		switch c := s[1]; c {
		case '"', '\\', '/':
			out = append(out, rune(c))
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if len(s) < 6 {
				return nil, false
			}
			u, err := strconv.ParseUint(string(s[2:6]), 16, 16)
			if err != nil {
				return nil, false
			}
			out = append(out, rune(u))
			s = s[6:]
			continue
		default:
			return nil, false
		}
		s = s[2:]
	}
	return units(fmt.Sprint(out)), true
}
