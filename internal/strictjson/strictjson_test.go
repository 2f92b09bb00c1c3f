package strictjson

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		in   string
		fail bool
	}{
		{`{}`, false},
		{`{"a":1,"b":[1,{"c":null}]}`, false},
		{`"x"`, false},
		{`{"a":1,"a":2}`, true},
		{`{"a":{"b":1,"b":1}}`, true},
		{`[{"a":1,"a":1}]`, true},
		{`{"a":1} {"b":2}`, true},
		{`{"a":1`, true},
		{``, true},
		{`{"a":1,}`, true},
		// Invalid UTF-8, raw or in a key: encoding/json reads it as U+FFFD.
		{"\"\xff\"", true},
		{"{\"a\xc3\":1}", true},
		{"\"\xed\xa0\x80\"", true}, // a surrogate encoded in UTF-8
		// Lone surrogates, escaped: encoding/json reads them as U+FFFD too.
		{`"\ud800"`, true},
		{`"\udfff"`, true},
		{`"x\uDBFFy"`, true},
		{`"\ud800\ud800"`, true},
		{`"\udc00\ud800"`, true},
		{`{"\ud800":1}`, true},
		{`"\ud800\u0041"`, true},
		{`"\\ud800"`, false},      // an escaped backslash, then text
		{`"\ud83d\ude00"`, false}, // a pair
		{`"\uD83D\uDE00"`, false},
		{`"\ufffd"`, false},
		{"\"\xef\xbf\xbd\"", false}, // U+FFFD itself
		// Keys of one object that differ only in case.
		{`{"name":1,"Name":2}`, true},
		{`{"a":{"ID":1,"id":2}}`, true},
		{`{"k":1,"\u212a":2}`, true}, // KELVIN SIGN folds to k
		{`{"s":1,"\u017f":2}`, true}, // LONG S folds to s
		{`{"name":1,"a":{"Name":2}}`, false},
		{`[{"name":1},{"Name":2}]`, false},
		{string(make([]byte, 0)) + `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, true},
	}
	for _, tt := range tests {
		err := Check([]byte(tt.in))
		if (err != nil) != tt.fail {
			t.Errorf("Check(%.40q) = %v, want fail=%v", tt.in, err, tt.fail)
		}
	}
}

// TestCheckMessages: each refusal names its fault, for the client's 400.
func TestCheckMessages(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"\ud800"`, "lone surrogate"},
		{`"\udc00\ud800"`, "lone surrogate"},
		{"\"\xff\"", "invalid UTF-8"},
		{`{"a":1,"a":2}`, "duplicate JSON key"},
		{`{"a":1,"A":2}`, "differ only in letter case"},
		{`{"a":`, "malformed JSON"},
		{``, "malformed JSON"},
		{`{"a" 1}`, "malformed JSON"},
		{`[1]]`, "unexpected data after JSON value"},
		{strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2), "nested too deeply"},
	}
	for _, tt := range tests {
		if err := Check([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%.40q) = %v, want an error with %q", tt.in, err, tt.want)
		}
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ a, b string }{
		{``, `{}`},
		{` `, `{}`},
		{`{}`, `{ }`},
		{`{"b":1,"a":"x"}`, `{"a":"x", "b":1}`},
		{`{"a":"\u00e9"}`, `{"a":"é"}`},
	}
	for _, tt := range tests {
		ca, err := Canonical([]byte(tt.a))
		if err != nil {
			t.Fatal(err)
		}
		cb, err := Canonical([]byte(tt.b))
		if err != nil {
			t.Fatal(err)
		}
		if string(ca) != string(cb) {
			t.Errorf("Canonical(%q)=%s != Canonical(%q)=%s", tt.a, ca, tt.b, cb)
		}
	}
	differ := []struct{ a, b string }{
		{`{"a":1}`, `{"a":2}`},
		{`{"a":1}`, `{"a":"1"}`},
		{`{"a":1}`, `{"a":1.0}`},
		{`{}`, `[]`},
		{``, `null`},
	}
	for _, tt := range differ {
		ca, _ := Canonical([]byte(tt.a))
		cb, _ := Canonical([]byte(tt.b))
		if string(ca) == string(cb) {
			t.Errorf("Canonical(%q) == Canonical(%q) = %s", tt.a, tt.b, ca)
		}
	}
	for _, in := range []string{`{"a":1,"a":1}`, `{"a":1,"A":1}`, `"\udfff"`, "\"\xff\""} {
		if _, err := Canonical([]byte(in)); err == nil {
			t.Errorf("Canonical(%q) accepted it", in)
		}
	}
}

// The strings the issue reproduced: each pair used to compare equal.
func TestCanonicalNeverMerges(t *testing.T) {
	tests := []struct{ signed, body string }{
		{`{"a":"\ud800"}`, `{"a":"\udfff"}`},
		{`{"a":"\ud800"}`, `{"a":"\ufffd"}`},
		{"{\"a\":\"\xff\"}", "{\"a\":\"\xfe\"}"},
		{"{\"a\":\"\xff\"}", `{"a":"\ufffd"}`},
		{`{"name":"a","Name":"b"}`, `{"Name":"b","name":"a"}`},
	}
	for _, tt := range tests {
		cs, errS := Canonical([]byte(tt.signed))
		cb, errB := Canonical([]byte(tt.body))
		if errS == nil && errB == nil && string(cs) == string(cb) {
			t.Errorf("Canonical(%q) == Canonical(%q) = %s", tt.signed, tt.body, cs)
		}
		if errS == nil {
			t.Errorf("Canonical(%q) accepted it", tt.signed)
		}
	}
}

type inner struct {
	Name string `json:"name"`
}

type outer struct {
	ID       string            `json:"id"`
	Inner    inner             `json:"inner"`
	List     []inner           `json:"list"`
	ByName   map[string]*inner `json:"byName"`
	Untagged string
	Skipped  string `json:"-"`
	Embedded
	Raw json.RawMessage `json:"raw"`
}

type Embedded struct {
	Kind string `json:"kind"`
}

func TestDecodeExactKeys(t *testing.T) {
	tests := []struct {
		in   string
		want outer
		fail string // "" for success; else a part of the error
	}{
		{in: `{"id":"a","inner":{"name":"n"},"kind":"k","Untagged":"u"}`,
			want: outer{ID: "a", Inner: inner{Name: "n"}, Embedded: Embedded{Kind: "k"}, Untagged: "u"}},
		{in: `{"other":1,"id":"a"}`, want: outer{ID: "a"}}, // unknown keys are ignored
		{in: `{"raw":{"ID":1,"Name":2}}`, want: outer{Raw: json.RawMessage(`{"ID":1,"Name":2}`)}},
		{in: `{"ID":"a"}`, fail: `"ID"`},
		{in: `{"Id":"a"}`, fail: `"Id"`},
		{in: `{"inner":{"NAME":"n"}}`, fail: `"inner.NAME"`},
		{in: `{"list":[{"name":"a"},{"Name":"b"}]}`, fail: `"list[1].Name"`},
		{in: `{"byName":{"x":{"nAme":"b"}}}`, fail: `"byName.x.nAme"`},
		{in: `{"Kind":"k"}`, fail: `"Kind"`},
		{in: `{"untagged":"u"}`, fail: `"untagged"`},
		{in: `{"\u212aind":"k"}`, fail: "case-sensitive"}, // KELVIN SIGN: encoding/json would fill "kind"
		{in: `{"i\u0044":"a"}`, fail: `"iD"`},
		{in: `{"id":"a","Id":"b"}`, fail: "differ only in letter case"},
	}
	for _, tt := range tests {
		var got outer
		err := Decode([]byte(tt.in), &got)
		switch {
		case tt.fail == "" && err != nil:
			t.Errorf("Decode(%s) = %v", tt.in, err)
		case tt.fail == "" && !reflect.DeepEqual(got, tt.want):
			t.Errorf("Decode(%s) = %+v, want %+v", tt.in, got, tt.want)
		case tt.fail != "" && (err == nil || !strings.Contains(err.Error(), tt.fail)):
			t.Errorf("Decode(%s) = %v, want an error naming %s", tt.in, err, tt.fail)
		case tt.fail != "" && !reflect.DeepEqual(got, outer{}):
			t.Errorf("Decode(%s) refused but filled %+v", tt.in, got)
		}
	}
}

func TestDecodeKnown(t *testing.T) {
	var got outer
	if err := DecodeKnown([]byte(`{"id":"a","kind":"k"}`), &got); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{`{"other":1}`, `{"inner":{"x":1}}`, `{"Id":"a"}`} {
		if err := DecodeKnown([]byte(in), &got); err == nil {
			t.Errorf("DecodeKnown(%s) accepted it", in)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2,{"b":"c"}]}`, `{"a":1,"a":2}`, `[`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Canonical(b)
		if err != nil {
			return
		}
		// The canonical form is itself valid and a fixed point.
		c2, err := Canonical(c)
		if err != nil {
			t.Fatalf("canonical form %q rejected: %v", c, err)
		}
		if string(c) != string(c2) {
			t.Fatalf("not a fixed point: %q -> %q", c, c2)
		}
	})
}
