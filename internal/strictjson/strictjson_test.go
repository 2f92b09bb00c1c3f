package strictjson

import "testing"

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
		{string(make([]byte, 0)) + `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, true},
	}
	for _, tt := range tests {
		err := Check([]byte(tt.in))
		if (err != nil) != tt.fail {
			t.Errorf("Check(%.40q) = %v, want fail=%v", tt.in, err, tt.fail)
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
	if _, err := Canonical([]byte(`{"a":1,"a":1}`)); err == nil {
		t.Error("Canonical accepted a duplicate key")
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
