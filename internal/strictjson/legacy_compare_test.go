package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tricky are inputs at the edges of every rule, for the comparison with the
// three-pass implementation (legacy_test.go) and as fuzz seeds.
func tricky() []string {
	nest := func(n int, inner string) string {
		return strings.Repeat("[", n) + inner + strings.Repeat("]", n)
	}
	nestObj := func(n int, inner string) string {
		return strings.Repeat(`{"a":`, n) + inner + strings.Repeat("}", n)
	}
	many := func(n int, extra string) string {
		var sb strings.Builder
		sb.WriteString("{")
		for i := range n {
			fmt.Fprintf(&sb, `"k%d":%d,`, i, i)
		}
		sb.WriteString(extra)
		sb.WriteString("}")
		return sb.String()
	}
	return []string{
		``, ` `, "\t\n\r ", "\f", "\u00a0", `{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `-`, `01`, `1.`, `.1`,
		`1e`, `1e+`, `1E-2`, `-1.5e10`, `1.0`, `tru`, `truex`, `nul`, `[1,]`, `{"a":1,}`, `{,}`, `[,1]`,
		`{"a"}`, `{"a":}`, `{"a" : 1 , "b" : [ 1 , 2 ] }`, `{"a":1}x`, `{"a":1} {}`, `"x" `, ` "x"`, "\ufeff{}",
		`"\u00e9"`, `"é"`, `"\ud83d\ude00"`, `"\uD83D\uDE00"`, `"\ud800"`, `"\udfff"`, `"\ud800\ud800"`,
		`"\udc00\ud800"`, `"\ud800\u0041"`, `"\ud800\uzzzz"`, `"\ud800\"`, `"\ud800\n"`, `"\\ud800"`, `"\u12"`,
		`"\u12g4"`, `"\x"`, `"\/\b\f\n\r\t\"\\"`, "\"\x01\"", "\"\x7f\"", "\"\xff\"", "\"\xed\xa0\x80\"",
		`"<>&\u2028\u2029"`, "\"\u2028\"", `"\u0000"`, `"\u001f"`,
		`{"a":1,"a":2}`, `{"name":1,"Name":2}`, `{"k":1,"\u212a":2}`, `{"s":1,"\u017f":2}`, `{"\u017f":1,"S":2}`,
		`{"id":"a","ID":"b"}`, `{"ID":"a"}`, `{"Id":"a"}`, `{"i\u0044":"a"}`, `{"\u212aind":"k"}`,
		`{"inner":{"NAME":"n"}}`, `{"inner":{"name":"n","Name":"m"}}`, `{"list":[{"name":"a"},{"Name":"b"}]}`,
		`{"list":{"Name":"b"}}`, `{"inner":[{"Name":"b"}]}`, `{"byName":{"x":{"nAme":"b"}}}`, `{"byName":[1]}`,
		`{"raw":{"ID":1,"Name":2}}`, `{"raw":{"a":1,"a":2}}`, `{"Kind":"k"}`, `{"kind":"k"}`, `{"untagged":"u"}`,
		`{"Untagged":"u"}`, `{"Skipped":"x"}`, `{"skipped":"x"}`, `{"-":"x"}`, `{"other":{"Name":1}}`,
		`{"id":1}`, `{"list":"x"}`, `{"inner":{"x":1}}`, `[{"name":"a"}]`, `[{"Name":"a"}]`, `{"next":{"next":{"Name":1}}}`,
		`{"children":[{"children":[{"NAME":1}]}]}`, `{"p":"x"}`, `{"p":null}`, `{"P":"x"}`,
		nest(64, ""), nest(65, ""), nest(66, ""), nest(64, "1"), nest(65, "1"), nest(63, "1"), nest(200, ""),
		nestObj(64, "1"), nestObj(65, "1"), nestObj(63, "{}"), nestObj(64, "{}"), nestObj(65, "{}"),
		many(15, `"K1":0`), many(16, `"K1":0`), many(17, `"K1":0`), many(40, `"k39":0`), many(40, `"x":0`),
		many(40, `"\u212a3":0`), many(40, `"k3":0`),
		`{"b":true,"n":12,"u":7,"f":1.5,"pb":false,"pn":-3,"strs":["a","b"],"m":{"k":"v"},"bytes":"aGk=","t":"2026-01-02T03:04:05Z","num":12.50,"arr":[1,2],"str":"5","omit":"","any":{"x":[1,"y",null]}}`,
		`{"n":1.5}`, `{"n":"12"}`, `{"u":300}`, `{"u":-1}`, `{"n":1e2}`, `{"f":1e400}`, `{"b":"true"}`, `{"b":null}`,
		`{"pb":null}`, `{"strs":null}`, `{"strs":[1]}`, `{"m":{"k":1}}`, `{"m":[]}`, `{"bytes":"aGk"}`, `{"bytes":"a-_="}`,
		`{"bytes":"aG\nk="}`, `{"bytes":[1,2]}`, `{"bytes":null}`, `{"t":"2026-01-02"}`, `{"t":"2026-01-02T03:04:05.123+01:00"}`,
		`{"t":null}`, `{"num":"12"}`, `{"num":true}`, `{"num":1e999}`, `{"arr":[1,2,3]}`, `{"arr":[1]}`, `{"str":5}`,
		`{"str":"x"}`, `{"str":"\"5\""}`, `{"any":1e400}`, `{"any":-0}`, `{"n":-0}`, `{"f":-0}`,
		`{"nums":{"a":1.50,"b":-2e3}}`, `{"nums":{"a":"1"}}`, `{"num":"x"}`,
	}
}

// recursive reaches itself through a slice, a map and a pointer.
type recursive struct {
	Name     string                `json:"name"`
	Next     *recursive            `json:"next"`
	Children []recursive           `json:"children"`
	ByKey    map[string]*recursive `json:"byKey"`
}

type withPointer struct {
	P  *string `json:"p"`
	ID string  `json:"id"`
}

// scalars has a field of each other kind a request body is decoded into
// (since dfnscpu Decode unmarshals with go-json-experiment/json's v1
// emulation, not encoding/json: this compares the two on them).
type scalars struct {
	B     bool              `json:"b"`
	N     int               `json:"n"`
	U     uint8             `json:"u"`
	F     float64           `json:"f"`
	PB    *bool             `json:"pb"`
	PN    *int64            `json:"pn"`
	Strs  []string          `json:"strs"`
	M     map[string]string `json:"m"`
	Bytes []byte            `json:"bytes"`
	T     time.Time         `json:"t"`
	Arr   [2]int            `json:"arr"`
	Str   int               `json:"str,string"`
	Omit  string            `json:"omit,omitempty"`
	Any   any               `json:"any"`
}

// withNumber holds an encoding/json Number, which Decode leaves to
// encoding/json.
type withNumber struct {
	Num  json.Number            `json:"num"`
	Nums map[string]json.Number `json:"nums"`
	N    int                    `json:"n"`
}

// targets returns fresh values of the types the comparison decodes into.
func targets() []func() any {
	return []func() any{
		func() any { return new(outer) },
		func() any { return new(map[string]any) },
		func() any { return new([]inner) },
		func() any { return new(any) },
		func() any { return new(recursive) },
		func() any { return new(withPointer) },
		func() any { return new(map[string][]inner) },
		func() any { return new(scalars) },
		func() any { return new(withNumber) },
	}
}

// sameAsLegacy fails t unless b is checked, canonicalised and decoded
// exactly as the three-pass implementation did: accepted or refused alike,
// the same canonical bytes, the same decoded values.
func sameAsLegacy(t *testing.T, b []byte) {
	t.Helper()
	if got, want := Check(b), legacyCheck(b); (got == nil) != (want == nil) {
		t.Fatalf("Check(%q) = %v, legacy %v", b, got, want)
	}
	c, err := Canonical(b)
	lc, lerr := legacyCanonical(b)
	if (err == nil) != (lerr == nil) || !bytes.Equal(c, lc) {
		t.Fatalf("Canonical(%q) = %q, %v; legacy %q, %v", b, c, err, lc, lerr)
	}
	for _, known := range []bool{false, true} {
		for _, mk := range targets() {
			got, want := mk(), mk()
			var err, lerr error
			if known {
				err, lerr = DecodeKnown(b, got), legacyDecodeKnown(b, want)
			} else {
				err, lerr = Decode(b, got), legacyDecode(b, want)
			}
			if (err == nil) != (lerr == nil) {
				t.Fatalf("Decode(%q, %T, known=%v) = %v, legacy %v", b, got, known, err, lerr)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("Decode(%q, %T) = %+v, legacy %+v", b, got, got, want)
			}
		}
	}
}

func TestSameAsLegacy(t *testing.T) {
	for _, in := range tricky() {
		sameAsLegacy(t, []byte(in))
	}
}

// FuzzSameAsLegacy compares the one-pass parser with the three-pass
// implementation it replaced on arbitrary bytes. Seed corpus: tricky() and
// testdata/fuzz/FuzzSameAsLegacy.
func FuzzSameAsLegacy(f *testing.F) {
	for _, in := range tricky() {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameAsLegacy(t, b)
	})
}

// concurrentTarget is decoded only by TestDecodeConcurrent, so that its
// shape is first made while several goroutines ask for it.
type concurrentTarget struct {
	Items []struct {
		Name string `json:"name"`
	} `json:"items"`
	ByKey map[string]concurrentTarget `json:"byKey"`
}

// TestDecodeConcurrent: goroutines that decode into a type whose shape is
// not made yet all apply its key rules (a shape seen half made would check
// less). Run with -race.
func TestDecodeConcurrent(t *testing.T) {
	const n = 8
	errs := make(chan error, 2*n)
	for range n {
		go func() {
			var v concurrentTarget
			errs <- Decode([]byte(`{"byKey":{"a":{"items":[{"Name":"x"}]}}}`), &v)
		}()
		go func() {
			var v concurrentTarget
			errs <- Decode([]byte(`{"items":[{"name":"x"}],"byKey":{"a":{"items":[]}}}`), &v)
		}()
	}
	refused := 0
	for range 2 * n {
		if err := <-errs; err != nil {
			if !strings.Contains(err.Error(), "byKey.a.items[0].Name") {
				t.Errorf("refused with %v", err)
			}
			refused++
		}
	}
	if refused != n {
		t.Errorf("%d of %d case-variant bodies refused", refused, n)
	}
}
