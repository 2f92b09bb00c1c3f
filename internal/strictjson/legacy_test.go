package strictjson

// This file keeps the three-pass implementation strictjson had before the
// one-pass parser, as the reference the differential tests compare with:
// every input must be accepted or refused alike, and decode and
// canonicalise to the same values and bytes.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// legacyCheck reports whether b is exactly one well-formed JSON value in valid
// UTF-8, with no lone surrogate escape, no two keys of one object equal or
// differing only in letter case, and no nesting deeper than MaxDepth.
func legacyCheck(b []byte) error {
	if !utf8.Valid(b) {
		return errors.New("invalid UTF-8 in JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := legacyWalk(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after JSON value")
	}
	return legacyCheckEscapes(b)
}

// legacyCheckEscapes refuses a \u escape of a UTF-16 surrogate that is not one
// half of a pair (RFC 8259 §8.2): encoding/json reads every such escape as
// U+FFFD, JSON.parse keeps it, so two different strings would compare equal.
// b is already known to be well-formed JSON, so only string contents and
// their escapes need telling apart.
func legacyCheckEscapes(b []byte) error {
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			in = !in
		case in && c == '\\':
			if b[i+1] != 'u' {
				i++ // a one-character escape
				continue
			}
			r := legacyHex4(b[i+2 : i+6])
			i += 5
			switch {
			case r < 0xd800 || r > 0xdfff:
			case r <= 0xdbff && i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' &&
				legacyHex4(b[i+3:i+7]) >= 0xdc00 && legacyHex4(b[i+3:i+7]) <= 0xdfff:
				i += 6 // a high surrogate and its low half
			default:
				return fmt.Errorf("lone surrogate \\u%04x in JSON string", r)
			}
		}
	}
	return nil
}

// legacyHex4 reads four hex digits, already validated by the decoder.
func legacyHex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// legacyFold maps s to a key that two strings share exactly when strings.EqualFold
// says they are equal, which is how encoding/json matches keys to fields:
// each rune becomes the smallest rune of its simple case-folding orbit.
func legacyFold(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		sb.WriteRune(min)
	}
	return sb.String()
}

func legacyWalk(dec *json.Decoder, depth int) error {
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
		seen := map[string]string{} // folded key -> key
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return fmt.Errorf("malformed JSON: %w", err)
			}
			key, _ := k.(string)
			f := legacyFold(key)
			switch prev, ok := seen[f]; {
			case ok && prev == key:
				return fmt.Errorf("duplicate JSON key %q", key)
			case ok:
				return fmt.Errorf("JSON keys %q and %q differ only in letter case", prev, key)
			}
			seen[f] = key
			if err := legacyWalk(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := legacyWalk(dec, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return fmt.Errorf("malformed JSON: %w", err)
	}
	return nil
}

// legacyDecode checks b with legacyCheck and then unmarshals it into v, which must be a
// pointer. Unknown fields are ignored: the official SDKs of several versions
// send fields signet does not read, and rejecting them would break wire
// compatibility. But a key that names a struct field in another letter case
// ("Name" for "name") is refused: encoding/json would fill the field from it,
// while every other reader sees a key the field does not have.
func legacyDecode(b []byte, v any) error {
	return legacyDecodeAs(b, v, false)
}

// legacyDecodeKnown is legacyDecode that also refuses keys no struct field has, for
// documents signet's operators write (the gateway's route file), where an
// unknown key is a mistake.
func legacyDecodeKnown(b []byte, v any) error {
	return legacyDecodeAs(b, v, true)
}

func legacyDecodeAs(b []byte, v any, known bool) error {
	if err := legacyCheck(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return errors.New("malformed JSON")
	}
	if err := legacyExactKeys(tree, reflect.TypeOf(v), "", known); err != nil {
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

// legacyCanonical returns a canonical encoding of the JSON value in b: object keys
// sorted, no insignificant space, numbers as written. An empty (or
// whitespace-only) b and "{}" both give "{}" (spec 12.2: an empty payload,
// an absent body and {} are equal).
func legacyCanonical(b []byte) ([]byte, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return []byte("{}"), nil
	}
	if err := legacyCheck(b); err != nil {
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

var (
	legacyUnmarshaler     = reflect.TypeFor[json.Unmarshaler]()
	legacyTextUnmarshaler = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()
)

// legacyExactKeys walks the decoded value v beside the Go type t that encoding/json
// will fill from it, and refuses every object key that would reach a struct
// field without being spelled exactly like the field's JSON name (and, when
// known is set, every key no field has). Types that legacyDecode themselves
// (json.Unmarshaler, encoding.TextUnmarshaler) and interfaces are left to
// their own rules.
func legacyExactKeys(v any, t reflect.Type, at string, known bool) error {
	for t != nil && t.Kind() == reflect.Pointer {
		if t.Implements(legacyUnmarshaler) || t.Implements(legacyTextUnmarshaler) {
			return nil
		}
		t = t.Elem()
	}
	if t == nil || reflect.PointerTo(t).Implements(legacyUnmarshaler) || reflect.PointerTo(t).Implements(legacyTextUnmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // not an object: encoding/json reports the type error
		}
		fields := legacyJsonFields(t)
		for k, val := range obj {
			if ft, ok := fields[k]; ok {
				if err := legacyExactKeys(val, ft, at+"."+k, known); err != nil {
					return err
				}
				continue
			}
			for name := range fields {
				if strings.EqualFold(name, k) {
					return fmt.Errorf("field %q: JSON keys are case-sensitive, this field is %q", strings.TrimPrefix(at+"."+k, "."), name)
				}
			}
			if known {
				if at == "" {
					return fmt.Errorf("unknown field %q", k)
				}
				return fmt.Errorf("unknown field %q in %s", k, strings.TrimPrefix(at, "."))
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for k, val := range obj {
			if err := legacyExactKeys(val, t.Elem(), at+"."+k, known); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, val := range arr {
			if err := legacyExactKeys(val, t.Elem(), fmt.Sprintf("%s[%d]", at, i), known); err != nil {
				return err
			}
		}
	}
	return nil
}

// legacyJsonFields returns the JSON names encoding/json gives t's fields, with
// their types, following its rules for tags ("-" skips a field, an empty
// name keeps the Go name) and for embedded structs (their fields are
// promoted unless the embedding is tagged; a shallower field wins).
func legacyJsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	for _, et := range embedded {
		for name, ft := range legacyJsonFields(et) {
			if _, ok := out[name]; !ok {
				out[name] = ft
			}
		}
	}
	return out
}
