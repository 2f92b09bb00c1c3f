package gateway_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/gateway"
)

func TestParseRoutes(t *testing.T) {
	rs, err := gateway.ParseRoutes([]byte(testRoutes))
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Operations(); !slices.Equal(got, []string{"Orders:Create", "Orders:Read", "Orders:Ping"}) {
		t.Errorf("Operations = %v", got)
	}
	if rs.Fallback() != gateway.Deny || len(rs.Routes()) != 8 {
		t.Errorf("fallback %q, %d routes", rs.Fallback(), len(rs.Routes()))
	}
	rs, err = gateway.ParseRoutes([]byte(`{"routes": [{"method": "GET", "path": "/x", "operation": "Orgs:Read"}]}`))
	if err != nil || rs.Fallback() != gateway.Deny || rs.Operations() != nil {
		t.Errorf("minimal file: %v %v", rs, err)
	}
	var none *gateway.Routes
	if none.Operations() != nil {
		t.Error("nil Routes declares operations")
	}
}

func TestParseRoutesErrors(t *testing.T) {
	route := func(r string) string { return `{"routes": [` + r + `]}` }
	for _, tc := range []struct {
		name, file, want string
	}{
		{"not JSON", `{"routes": [`, "not a valid JSON document"},
		{"duplicate key", `{"routes": [], "routes": []}`, "duplicate"},
		{"unknown field", `{"routes": [{"method": "GET", "path": "/x", "opertion": "Orgs:Read"}]}`, `unknown field "opertion"`},
		{"bad default", `{"routes": [], "default": "allow"}`, `default "allow" must be "deny" or "authenticated"`},
		{"nothing allowed", `{"routes": []}`, "would refuse every request"},
		{"operation declared twice", `{"operations": ["A:B", "A:B"], "routes": []}`, `operations[1] "A:B" is declared twice`},
		{"own operation declared", `{"operations": ["Permissions:Read"], "routes": []}`, `operations[0] "Permissions:Read" is one of signet's own`},
		{"empty operation", `{"operations": [""], "routes": []}`, `operations[0] is empty`},
		{"unknown operation", route(`{"method": "GET", "path": "/x", "operation": "Orders:Read"}`),
			`routes[0] (GET /x): operation "Orders:Read" is neither declared`},
		{"missing operation", route(`{"method": "GET", "path": "/x"}`), `routes[0] (GET /x): "operation" is required`},
		{"public with operation", route(`{"method": "GET", "path": "/x", "operation": "Orgs:Read", "public": true}`), "a public route needs no operation"},
		{"public and unsigned", route(`{"method": "POST", "path": "/x", "public": true, "unsigned": true}`), `"unsigned" has no meaning on a public route`},
		{"unsigned GET", route(`{"method": "GET", "path": "/x", "operation": "Orgs:Read", "unsigned": true}`), `GET requests are never user-action signed`},
		{"signed OPTIONS", route(`{"method": "OPTIONS", "path": "/x", "operation": "Orgs:Read"}`), `OPTIONS requests cannot be user-action signed`},
		{"lower-case method", route(`{"method": "get", "path": "/x", "operation": "Orgs:Read"}`), `method "get" must be one of GET, HEAD`},
		{"no method", route(`{"path": "/x", "operation": "Orgs:Read"}`), `method "" must be one of`},
		{"CONNECT", route(`{"method": "CONNECT", "path": "/x", "public": true}`), `method "CONNECT"`},
		{"relative path", route(`{"method": "GET", "path": "x", "public": true}`), `path "x" must start with /`},
		{"host pattern", route(`{"method": "GET", "path": "example.com/x", "public": true}`), `must start with /`},
		{"space in path", route(`{"method": "GET", "path": "/a b", "public": true}`), `must not contain spaces`},
		{"bad pattern", route(`{"method": "GET", "path": "/orders/{", "public": true}`), `routes[0] (GET /orders/{): invalid pattern`},
		{"wildcard not at end", route(`{"method": "GET", "path": "/a/{x...}/b", "public": true}`), `wildcard not at end`},
		{"signet path", route(`{"method": "GET", "path": "/auth/login", "public": true}`), `path "/auth/login" is served by signet itself`},
		{"signet subtree", route(`{"method": "GET", "path": "/permissions/{id}", "public": true}`), `served by signet itself`},
		{"healthz", route(`{"method": "GET", "path": "/healthz", "public": true}`), `served by signet itself`},
		{"duplicate route", route(`{"method": "GET", "path": "/x", "public": true}, {"method": "GET", "path": "/y", "public": true}, {"method": "GET", "path": "/x", "operation": "Orgs:Read"}`),
			`routes[2] (GET /x): duplicate of routes[0]`},
		{"conflicting routes", route(`{"method": "GET", "path": "/o/{id}", "public": true}, {"method": "GET", "path": "/o/{name}", "public": true}`),
			`routes[1] (GET /o/{name}): conflicts with routes[0] (GET /o/{id}): GET /o/{name} matches the same requests as GET /o/{id}`},
		{"null route", `{"routes": [null]}`, `routes[0] is null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.ParseRoutes([]byte(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
