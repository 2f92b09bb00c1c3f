// Package strictjson is the one JSON decoder for untrusted request bodies.
//
// It refuses what encoding/json quietly accepts and what would let two
// readers of the same bytes see different values:
//
//   - duplicate object keys (encoding/json keeps the last, other parsers the
//     first), and keys of one object that differ only in letter case
//     (encoding/json fills a struct field from either spelling);
//   - invalid UTF-8 and lone UTF-16 surrogate escapes such as "\ud800"
//     (encoding/json turns both into U+FFFD, so two different strings would
//     read alike, while JavaScript's JSON.parse keeps the surrogate);
//   - trailing data after the value.
//
// Decode then fills a struct field only from a key spelled exactly like its
// JSON name (RFC 8259 §8.3 compares names code unit by code unit). signet
// decodes every request body and compares every user-action payload with it
// (spec 12.2), so the comparison and the handler can never disagree.
//
// Every rule above is enforced by one pass over the body of the token reader
// of github.com/go-json-experiment/json/jsontext (the Go team's basis of
// encoding/json/v2; strictjson writes no lexer of its own). That Decoder
// checks the syntax, refuses invalid UTF-8, lone surrogate escapes and two
// names of one object equal once unescaped; strictjson adds, on its tokens,
// the letter-case rule, the depth limit, the one-value rule and Decode's
// struct key rules, the latter checked as the keys are read. Decode is that
// pass and then encoding/json.Unmarshal; Canonical is that pass building a
// small tree it then writes out sorted. (The pass replaced a token walk, a
// decode into a tree, a walk of that tree and then encoding/json, which cost
// a login ~55 us of CPU.)
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// MaxDepth bounds nesting so that a hostile body cannot exhaust the stack:
// a value nested inside more than MaxDepth objects or arrays is refused.
const MaxDepth = 64

// Check reports whether b is exactly one well-formed JSON value in valid
// UTF-8, with no lone surrogate escape, no two keys of one object equal or
// differing only in letter case, and no nesting deeper than MaxDepth.
func Check(b []byte) error {
	_, err := parse(b, nil, false, false)
	return err
}

// Decode checks b as Check does and then unmarshals it into v, which must be
// a pointer. Unknown fields are ignored: the official SDKs of several
// versions send fields signet does not read, and rejecting them would break
// wire compatibility. But a key that names a struct field in another letter
// case ("Name" for "name") is refused: encoding/json would fill the field
// from it, while every other reader sees a key the field does not have.
func Decode(b []byte, v any) error {
	return decode(b, v, false)
}

// DecodeKnown is Decode that also refuses keys no struct field has, for
// documents signet's operators write (the gateway's route file), where an
// unknown key is a mistake.
func DecodeKnown(b []byte, v any) error {
	return decode(b, v, true)
}

func decode(b []byte, v any, known bool) error {
	if _, err := parse(b, shapeOf(reflect.TypeOf(v)), known, false); err != nil {
		return err
	}
	unmarshal, typeErr := jsonv1.Unmarshal, func(err error) (string, reflect.Type, bool) {
		var te *jsonv1.UnmarshalTypeError
		if errors.As(err, &te) {
			return te.Field, te.Type, true
		}
		return "", nil, false
	}
	if usesStdNumber(reflect.TypeOf(v)) {
		unmarshal, typeErr = json.Unmarshal, func(err error) (string, reflect.Type, bool) {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return te.Field, te.Type, true
			}
			return "", nil, false
		}
	}
	if err := unmarshal(b, v); err != nil {
		if field, t, ok := typeErr(err); ok {
			return fmt.Errorf("field %q: expected %s", field, t)
		}
		return errors.New("malformed JSON")
	}
	return nil
}

// Decode's unmarshal is the encoding/json v1 emulation of
// go-json-experiment/json (jsonv1), the decoder of encoding/json/v2 run
// with encoding/json's behaviour: one pass, where encoding/json scanned the
// body once to validate it and once more to decode it (a login body:
// ~11 -> ~5 us, 27 -> 14 allocations; docs/performance.md, "dfnscpu").
// TestSameAsLegacy and FuzzSameAsLegacy hold it to encoding/json's values
// on every kind of field. The one type it does not know is encoding/json's
// own Number (it knows its own): a target that holds one is decoded by
// encoding/json.

// stdNumber is encoding/json's Number.
var stdNumber = reflect.TypeFor[json.Number]()

// numberTypes caches usesStdNumber by type.
var numberTypes sync.Map // reflect.Type -> bool

// usesStdNumber reports whether a value of type t can hold an
// encoding/json Number, in a field, an element or itself.
func usesStdNumber(t reflect.Type) bool {
	if t == nil {
		return false
	}
	if v, ok := numberTypes.Load(t); ok {
		return v.(bool)
	}
	found := holdsNumber(t, map[reflect.Type]bool{})
	numberTypes.Store(t, found)
	return found
}

func holdsNumber(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == stdNumber {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsNumber(t.Elem(), seen)
	case reflect.Map:
		return holdsNumber(t.Key(), seen) || holdsNumber(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsNumber(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// Canonical returns a canonical encoding of the JSON value in b: object keys
// sorted, no insignificant space, numbers as written, strings escaped as
// encoding/json.Marshal escapes them (the bytes are those json.Marshal gives
// for the value decoded with UseNumber, which the differential tests check).
// An empty (or whitespace-only) b and "{}" both give "{}" (spec 12.2: an
// empty payload, an absent body and {} are equal).
func Canonical(b []byte) ([]byte, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return []byte("{}"), nil
	}
	v, err := parse(b, nil, false, true)
	if err != nil {
		return nil, err
	}
	return appendValue(make([]byte, 0, len(b)), v), nil
}

// parser walks one JSON value token by token. With tree set it builds the
// value (object, []any, string, json.Number, bool, nil); otherwise it only
// checks.
type parser struct {
	d     *jsontext.Decoder
	tree  bool
	known bool
	path  []step // where the value being read is, for key errors
}

// step is one level of a path: an object key, or an array index when key
// is not set.
type step struct {
	key   string
	index int
	isKey bool
}

// object is a JSON object as the tree holds it: members in the order read,
// then sorted by key for writing.
type object []member

type member struct {
	key string
	val any
}

// reader is a jsontext.Decoder with the bytes.Buffer it reads from, kept
// in a pool: a Decoder reads a bytes.Buffer's bytes in place, without
// copying them, and keeps its stacks' memory across Reset.
type reader struct {
	buf bytes.Buffer
	dec jsontext.Decoder
}

var (
	readers = sync.Pool{New: func() any { return new(reader) }}
	// drained is what a pooled Decoder is left reading, so that it does not
	// keep the last body alive. It is never written to.
	drained bytes.Buffer
)

// The Decoder's own rules, spelled out although they are its defaults:
// invalid UTF-8 and lone surrogate escapes are refused (AllowInvalidUTF8),
// and so are two names of one object equal once unescaped
// (AllowDuplicateNames).
var strict = []jsontext.Options{jsontext.AllowInvalidUTF8(false), jsontext.AllowDuplicateNames(false)}

func parse(b []byte, s *shape, known, tree bool) (any, error) {
	r := readers.Get().(*reader)
	defer func() {
		r.dec.Reset(&drained)
		r.buf = bytes.Buffer{}
		readers.Put(r)
	}()
	r.buf = *bytes.NewBuffer(b)
	r.dec.Reset(&r.buf, strict...)
	p := parser{d: &r.dec, tree: tree, known: known}
	tok, err := p.d.ReadToken()
	if err != nil {
		return nil, malformed(err)
	}
	v, err := p.value(tok, 0, s)
	if err != nil {
		return nil, err
	}
	// The Decoder reads a stream of values; a body is one.
	if _, err := p.d.ReadToken(); err != io.EOF {
		return nil, errors.New("unexpected data after JSON value")
	}
	return v, nil
}

// malformed turns an error of the Decoder into the one strictjson gives.
func malformed(err error) error {
	var se *jsontext.SyntacticError
	switch {
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: unexpected end of JSON input")
	case errors.As(err, &se) && se.Err == jsontext.ErrDuplicateName:
		return fmt.Errorf("duplicate JSON key %q", se.JSONPointer.LastToken())
	case errors.As(err, &se):
		// jsontext's causes are not exported values; its texts only name
		// the fault better for the client (any other is still refused).
		switch msg := se.Err.Error(); {
		case strings.Contains(msg, "surrogate"):
			return fmt.Errorf("lone surrogate escape in JSON string at offset %d", se.ByteOffset)
		case strings.Contains(msg, "invalid UTF-8"):
			return fmt.Errorf("invalid UTF-8 in JSON at offset %d", se.ByteOffset)
		default:
			return fmt.Errorf("malformed JSON at offset %d: %s", se.ByteOffset, msg)
		}
	}
	return fmt.Errorf("malformed JSON: %v", err)
}

// value reads the rest of the value that tok begins, which s (nil for none)
// says how Decode's target will be filled from.
func (p *parser) value(tok jsontext.Token, depth int, s *shape) (any, error) {
	if depth > MaxDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	switch tok.Kind() {
	case '{':
		return p.object(depth, s)
	case '[':
		return p.array(depth, s)
	case '"':
		if p.tree {
			return tok.String(), nil
		}
	case '0':
		if p.tree {
			// String gives a number's text as the body spells it.
			return json.Number(tok.String()), nil
		}
	case 't':
		return true, nil
	case 'f':
		return false, nil
	}
	return nil, nil
}

// foldMapAt is how many keys an object may have before its keys are
// compared through a map of folded keys instead of with each other.
const foldMapAt = 16

func (p *parser) object(depth int, s *shape) (any, error) {
	var obj object
	var keys []string
	var folded map[string]string // folded key -> key, past foldMapAt keys
	for {
		tok, err := p.d.ReadToken()
		if err != nil {
			return nil, malformed(err)
		}
		if tok.Kind() == '}' {
			break
		}
		// The Decoder gives only a name or '}' here.
		k := tok.String()
		if err := p.seen(keys, &folded, k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
		child, err := p.member(s, k)
		if err != nil {
			return nil, err
		}
		if s != nil {
			p.path = append(p.path, step{key: k, isKey: true})
		}
		tok, err = p.d.ReadToken()
		if err != nil {
			return nil, malformed(err)
		}
		v, err := p.value(tok, depth+1, child)
		if err != nil {
			return nil, err
		}
		if s != nil {
			p.path = p.path[:len(p.path)-1]
		}
		if p.tree {
			obj = append(obj, member{k, v})
		}
	}
	if !p.tree {
		return nil, nil
	}
	slices.SortFunc(obj, func(a, b member) int { return strings.Compare(a.key, b.key) })
	return obj, nil
}

// seen refuses k if an earlier key of the object is equal to it or differs
// from it only in letter case (as strings.EqualFold, which is how
// encoding/json matches keys to fields).
func (p *parser) seen(keys []string, folded *map[string]string, k string) error {
	if *folded == nil && len(keys) < foldMapAt {
		for _, prev := range keys {
			if prev == k {
				return fmt.Errorf("duplicate JSON key %q", k)
			}
			if strings.EqualFold(prev, k) {
				return fmt.Errorf("JSON keys %q and %q differ only in letter case", prev, k)
			}
		}
		return nil
	}
	if *folded == nil {
		*folded = make(map[string]string, 2*len(keys))
		for _, prev := range keys {
			(*folded)[fold(prev)] = prev
		}
	}
	f := fold(k)
	switch prev, ok := (*folded)[f]; {
	case ok && prev == k:
		return fmt.Errorf("duplicate JSON key %q", k)
	case ok:
		return fmt.Errorf("JSON keys %q and %q differ only in letter case", prev, k)
	}
	(*folded)[f] = k
	return nil
}

// fold maps s to a key that two strings share exactly when strings.EqualFold
// says they are equal: each rune becomes the smallest rune of its simple
// case-folding orbit.
func fold(s string) string {
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

// member returns the shape of the value of key k in an object that fills
// s, and refuses k where Decode's rules do: a key that reaches a struct
// field without being spelled exactly like its JSON name (and, for
// DecodeKnown, a key no field has).
func (p *parser) member(s *shape, k string) (*shape, error) {
	if s == nil {
		return nil, nil
	}
	switch s.kind {
	case reflect.Map:
		return s.elem, nil
	case reflect.Struct:
	default:
		return nil, nil
	}
	if f, ok := s.fields[k]; ok {
		return f.shape(), nil
	}
	for name := range s.fields {
		if strings.EqualFold(name, k) {
			return nil, fmt.Errorf("field %q: JSON keys are case-sensitive, this field is %q", p.at(k), name)
		}
	}
	if p.known {
		if len(p.path) == 0 {
			return nil, fmt.Errorf("unknown field %q", k)
		}
		return nil, fmt.Errorf("unknown field %q in %s", k, p.at(""))
	}
	return nil, nil
}

// at writes the path of the value being read, then k if it is set, as
// "a.b[2].c".
func (p *parser) at(k string) string {
	var sb strings.Builder
	for _, st := range p.path {
		if st.isKey {
			sb.WriteByte('.')
			sb.WriteString(st.key)
		} else {
			sb.WriteByte('[')
			sb.WriteString(strconv.Itoa(st.index))
			sb.WriteByte(']')
		}
	}
	if k != "" {
		sb.WriteByte('.')
		sb.WriteString(k)
	}
	return strings.TrimPrefix(sb.String(), ".")
}

func (p *parser) array(depth int, s *shape) (any, error) {
	var arr []any
	if p.tree {
		arr = []any{}
	}
	var elem *shape
	if s != nil && (s.kind == reflect.Slice || s.kind == reflect.Array) {
		elem = s.elem
	}
	for n := 0; ; n++ {
		tok, err := p.d.ReadToken()
		if err != nil {
			return nil, malformed(err)
		}
		if tok.Kind() == ']' {
			break
		}
		if elem != nil {
			p.path = append(p.path, step{index: n})
		}
		v, err := p.value(tok, depth+1, elem)
		if err != nil {
			return nil, err
		}
		if elem != nil {
			p.path = p.path[:len(p.path)-1]
		}
		if p.tree {
			arr = append(arr, v)
		}
	}
	if !p.tree {
		return nil, nil
	}
	return arr, nil
}

// shape is what Decode's key rules need of the Go type encoding/json will
// fill from a JSON value: a struct's fields by JSON name, a map's, slice's or
// array's element; nil for a type that decodes itself
// (json.Unmarshaler, encoding.TextUnmarshaler), an interface or a scalar,
// whose keys are left to their own rules. It depends on the type alone, so
// it is made once per type.
type shape struct {
	kind   reflect.Kind
	fields map[string]*lazyShape
	elem   *shape
}

// lazyShape is a struct field's shape, made when a key first reaches it (so
// that recursive types terminate).
type lazyShape struct {
	t    reflect.Type
	once sync.Once
	s    *shape
}

func (l *lazyShape) shape() *shape {
	l.once.Do(func() { l.s = shapeOf(l.t) })
	return l.s
}

var (
	unmarshaler     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()
	shapes          sync.Map   // reflect.Type -> *shape (nil for none), complete ones only
	shapesMu        sync.Mutex // held while shapes are made
)

func shapeOf(t reflect.Type) *shape {
	if t == nil {
		return nil
	}
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	shapesMu.Lock()
	defer shapesMu.Unlock()
	building := map[reflect.Type]*shape{}
	s := shapeIn(t, building)
	// Published only once complete: a shape seen half made would check less.
	for bt, bs := range building {
		shapes.Store(bt, bs)
	}
	return s
}

// shapeIn returns t's shape, made (into building) if it is not yet known.
func shapeIn(t reflect.Type, building map[reflect.Type]*shape) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	if s, ok := building[t]; ok {
		return s
	}
	building[t] = nil
	u := t
	for u.Kind() == reflect.Pointer {
		if u.Implements(unmarshaler) || u.Implements(textUnmarshaler) {
			return nil
		}
		u = u.Elem()
	}
	if reflect.PointerTo(u).Implements(unmarshaler) || reflect.PointerTo(u).Implements(textUnmarshaler) {
		return nil
	}
	switch u.Kind() {
	case reflect.Struct:
		fields := map[string]*lazyShape{}
		for name, ft := range jsonFields(u) {
			fields[name] = &lazyShape{t: ft}
		}
		s := &shape{kind: reflect.Struct, fields: fields}
		building[t] = s
		return s
	case reflect.Map, reflect.Slice, reflect.Array:
		// An element of the same type (type T []T) shares this shape.
		s := &shape{kind: u.Kind()}
		building[t] = s
		s.elem = shapeIn(u.Elem(), building)
		return s
	}
	return nil
}

// jsonFields returns the JSON names encoding/json gives t's fields, with
// their types, following its rules for tags ("-" skips a field, an empty
// name keeps the Go name) and for embedded structs (their fields are
// promoted unless the embedding is tagged; a shallower field wins).
func jsonFields(t reflect.Type) map[string]reflect.Type {
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
		for name, ft := range jsonFields(et) {
			if _, ok := out[name]; !ok {
				out[name] = ft
			}
		}
	}
	return out
}

// appendValue writes v, a value of the tree, as encoding/json.Marshal
// writes it: objects with their keys sorted byte-wise (they are, see
// object), json.Number as written.
func appendValue(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, v)
	case json.Number:
		return append(dst, v...)
	case string:
		return appendString(dst, v)
	case []any:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, e)
		}
		return append(dst, ']')
	case object:
		dst = append(dst, '{')
		for i, m := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, m.key)
			dst = append(dst, ':')
			dst = appendValue(dst, m.val)
		}
		return append(dst, '}')
	}
	panic(fmt.Sprintf("strictjson: unexpected %T in tree", v))
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json.Marshal does with HTML escaping
// (its default): '"' and '\\' escaped, \b \f \n \r \t by name, other control
// characters and '<', '>', '&' as \u00XX, U+2028 and U+2029 as \u202X. s is
// valid UTF-8 (parse refused anything else).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			start = i + n
		}
		i += n
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
