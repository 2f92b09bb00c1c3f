package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIIncludesRouteFile: in gateway mode GET /openapi.json (served
// by signet, not the upstream) documents the route file's routes beside
// signet's own, and kin-openapi accepts it as OpenAPI 3.1.
func TestOpenAPIIncludesRouteFile(t *testing.T) {
	e := newEnv(t, testRoutes)
	n := e.up.count()
	r := e.do("GET", "/openapi.json", "", nil)
	if r.status != 200 {
		t.Fatalf("GET /openapi.json: %d %s", r.status, r.raw)
	}
	if e.up.count() != n {
		t.Fatal("/openapi.json went to the upstream")
	}
	doc, err := openapi3.NewLoader().LoadFromData(r.raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("document %s: %v", doc.OpenAPI, err)
	}
	tests := []struct {
		path, method, op string
		signed, public   bool
	}{
		{"/orders", "POST", "Orders:Create", true, false},
		{"/orders/{id}", "GET", "Orders:Read", false, false},
		{"/orders/{id}/ping", "POST", "Orders:Ping", false, false},
		{"/public/{rest}", "GET", "", false, true},
		{"/auth/users", "GET", "Auth:Users:Read", false, false}, // signet's own
	}
	for _, tc := range tests {
		pi := doc.Paths.Find(tc.path)
		if pi == nil || pi.GetOperation(tc.method) == nil {
			t.Errorf("%s %s missing", tc.method, tc.path)
			continue
		}
		o := pi.GetOperation(tc.method)
		op, _ := o.Extensions["x-signet-operation"].(string)
		signed, _ := o.Extensions["x-signet-signed"].(bool)
		public := o.Security == nil
		if op != tc.op || signed != tc.signed || public != tc.public {
			t.Errorf("%s %s: operation %q signed %v public %v, want %q %v %v", tc.method, tc.path, op, signed, public, tc.op, tc.signed, tc.public)
		}
		// A gateway policy may hold a signed request of a declared
		// operation (202 with the change request); nothing else is held.
		held := o.Responses.Status(202) != nil
		if wantHeld := tc.signed && !strings.HasPrefix(tc.path, "/auth/"); held != wantHeld {
			t.Errorf("%s %s: 202 documented %v, want %v", tc.method, tc.path, held, wantHeld)
		}
	}
}
