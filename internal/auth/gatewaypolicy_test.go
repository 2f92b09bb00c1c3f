package auth

import "testing"

// TestFieldAbove: the JsonFieldThreshold rule compares exactly, and a body
// it cannot evaluate is reported as such (the rule then triggers).
func TestFieldAbove(t *testing.T) {
	tests := []struct {
		name, body, ptr string
		threshold       float64
		above, ok       bool
	}{
		{"below", `{"amount":500}`, "/amount", 10000, false, true},
		{"equal", `{"amount":10000}`, "/amount", 10000, false, true},
		{"equal exponent", `{"amount":1e4}`, "/amount", 10000, false, true},
		{"above", `{"amount":10000.5}`, "/amount", 10000, true, true},
		{"above by less than a float step", `{"amount":10000.0000000000000000001}`, "/amount", 10000, true, true},
		{"below by less than a float step", `{"amount":9999.99999999999999999999}`, "/amount", 10000, false, true},
		{"huge", `{"amount":1e400}`, "/amount", 10000, true, true},
		{"negative", `{"amount":-20000}`, "/amount", -10000, false, true},
		{"nested", `{"a":{"b/c":[1,{"d~":20}]}}`, "/a/b~1c/1/d~0", 10, true, true},
		{"not JSON", `amount=20000`, "/amount", 10000, false, false},
		{"empty", ``, "/amount", 10000, false, false},
		{"trailing data", `{"amount":1} {"amount":20000}`, "/amount", 10000, false, false},
		{"missing", `{"total":20000}`, "/amount", 10000, false, false},
		{"string", `{"amount":"20000"}`, "/amount", 10000, false, false},
		{"null", `{"amount":null}`, "/amount", 10000, false, false},
		{"object", `{"amount":{"v":20000}}`, "/amount", 10000, false, false},
		{"index out of range", `{"a":[1]}`, "/a/1", 0, false, false},
		{"duplicate key, small last", `{"amount":20000,"amount":1}`, "/amount", 10000, false, false},
		{"duplicate key, small first", `{"amount":1,"amount":20000}`, "/amount", 10000, false, false},
		{"key differing in case", `{"amount":1,"Amount":20000}`, "/amount", 10000, false, false},
		{"duplicate key elsewhere", `{"amount":1,"to":{"a":1,"a":2}}`, "/amount", 10000, false, false},
		{"lone surrogate", `{"amount":1,"memo":"\ud800"}`, "/amount", 10000, false, false},
		{"invalid UTF-8", "{\"amount\":1,\"memo\":\"\xff\"}", "/amount", 10000, false, false},
		{"too long a literal", `{"amount":10000000000000000000000000000000000000000000000000000000000000000000}`, "/amount", 1, false, false},
	}
	for _, tt := range tests {
		above, ok := fieldAbove([]byte(tt.body), tt.ptr, tt.threshold)
		if above != tt.above || ok != tt.ok {
			t.Errorf("%s: fieldAbove = %v, %v; want %v, %v", tt.name, above, ok, tt.above, tt.ok)
		}
	}
}

// TestCheckPointer: only RFC 6901 pointers below the root are accepted.
func TestCheckPointer(t *testing.T) {
	for ptr, ok := range map[string]bool{
		"/amount": true, "/a/0/b": true, "/a~0b~1c": true, "/": true,
		"": false, "amount": false, "/a~": false, "/a~2": false, "#/amount": false,
	} {
		if err := checkPointer(ptr); (err == nil) != ok {
			t.Errorf("checkPointer(%q) = %v, want ok %v", ptr, err, ok)
		}
	}
}
