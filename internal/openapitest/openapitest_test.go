package openapitest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// doc has one exact operation: GET /things/{id} answers {"id": string}.
const doc = `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/things/{id}":{"get":{
 "parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],
 "responses":{"200":{"description":"ok","content":{"application/json":{"schema":{
   "type":"object","properties":{"id":{"type":"string"}},"required":["id"],"additionalProperties":false}}}},
  "404":{"description":"no","content":{"application/json":{"schema":{"type":"object"}}}}}}}}}`

func TestCheck(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name    string
		x       Exchange
		wantErr bool
		example bool
	}{
		{"fits", Exchange{Method: "GET", Path: "/things/1", Status: 200, ResHeader: json, ResBody: []byte(`{"id":"1"}`)}, false, true},
		{"extra field", Exchange{Method: "GET", Path: "/things/1", Status: 200, ResHeader: json, ResBody: []byte(`{"id":"1","x":2}`)}, true, false},
		{"missing field", Exchange{Method: "GET", Path: "/things/1", Status: 200, ResHeader: json, ResBody: []byte(`{}`)}, true, false},
		{"wrong type", Exchange{Method: "GET", Path: "/things/1", Status: 200, ResHeader: json, ResBody: []byte(`{"id":1}`)}, true, false},
		{"undocumented status", Exchange{Method: "GET", Path: "/things/1", Status: 418, ResHeader: json, ResBody: []byte(`{}`)}, true, false},
		{"refusal", Exchange{Method: "GET", Path: "/things/1", Status: 404, ResHeader: json, ResBody: []byte(`{}`)}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			op, err := b.Check(tt.x)
			if (err != nil) != tt.wantErr || op != "GET /things/{id}" {
				t.Fatalf("Check: op %q, err %v; want error %v", op, err, tt.wantErr)
			}
			_, got := b.Example(op)
			if got != tt.example {
				t.Errorf("example recorded: %v, want %v", got, tt.example)
			}
			if miss := b.Missing(nil); slices.Equal(miss, []string{"GET /things/{id}"}) == tt.example {
				t.Errorf("Missing: %v", miss)
			}
			refusal := map[string]string{"GET /things/{id}": "never succeeds"}
			if miss := b.Missing(refusal); (len(miss) == 0) != (tt.name == "refusal") {
				t.Errorf("Missing with the operation refusal-only: %v", miss)
			}
		})
	}
	b, _ := New([]byte(doc))
	if _, err := b.Check(Exchange{Method: "GET", Path: "/elsewhere", Status: 200}); !errors.Is(err, ErrUndocumented) {
		t.Errorf("undocumented path: %v", err)
	}
}

// Wrap checks what goes through and still serves it unchanged.
func TestWrap(t *testing.T) {
	b, _ := New([]byte(doc))
	var fails []string
	h := b.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"` + r.PathValue("id") + `","oops":true}`))
	}), func(err error) { fails = append(fails, err.Error()) })
	mux := http.NewServeMux()
	mux.Handle("GET /things/{id}", h)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/things/7", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"oops":true`) {
		t.Errorf("served %d %s", rec.Code, rec.Body)
	}
	if len(fails) != 1 || !strings.Contains(fails[0], "oops") {
		t.Errorf("failures %q", fails)
	}
	if _, ok := b.Example("GET /things/{id}"); ok {
		t.Error("a misfit was recorded as the example")
	}
}

// New refuses what is not an OpenAPI 3.1 document.
func TestNewRefuses(t *testing.T) {
	for _, raw := range []string{`{`, `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{}}`} {
		if _, err := New([]byte(raw)); err == nil {
			t.Errorf("accepted %s", raw)
		}
	}
}

// Enough bounds the validation: past it, exchanges of the same operation
// and status pass unchecked; another status is still checked.
func TestEnough(t *testing.T) {
	b, _ := New([]byte(doc))
	b.Enough = 2
	json := http.Header{"Content-Type": {"application/json"}}
	bad := Exchange{Method: "GET", Path: "/things/1", Status: 200, ResHeader: json, ResBody: []byte(`{}`)}
	for i, want := range []bool{true, true, false} {
		if _, err := b.Check(bad); (err != nil) != want {
			t.Errorf("exchange %d: error %v, want one: %v", i, err, want)
		}
	}
	if _, err := b.Check(Exchange{Method: "GET", Path: "/things/1", Status: 418, ResHeader: json, ResBody: []byte(`{}`)}); err == nil {
		t.Error("another status passed unchecked")
	}
}
