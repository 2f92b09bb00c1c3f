package gateway

import (
	"net/http/httptest"
	"testing"
)

// benchRoutes is a route table of a realistic size, lower case, with a
// public catch-all: the look-alike check runs on every request under it.
const benchRoutes = `{
  "operations": ["Orders:Read", "Orders:Create", "Admin:Read"],
  "routes": [
    {"method": "GET", "path": "/orders/{id}", "operation": "Orders:Read"},
    {"method": "PUT", "path": "/orders/{id}", "operation": "Orders:Create"},
    {"method": "GET", "path": "/orders", "operation": "Orders:Read"},
    {"method": "GET", "path": "/admin/x", "operation": "Admin:Read"},
    {"method": "GET", "path": "/items/{id}/parts/{part}", "operation": "Orders:Read"},
    {"method": "GET", "path": "/public/{rest...}", "public": true}
  ],
  "default": "authenticated"
}`

// BenchmarkRouteMatch measures matching a GET to its route alone (the
// hot path before look-alikes were checked for matched routes: "match")
// and with the look-alike check ("match+lookalike"), for an ordinary
// lower-case path and for a mixed-case one that takes the slow path.
// Compare the two in the same run: go test -bench RouteMatch.
func BenchmarkRouteMatch(b *testing.B) {
	rs, err := ParseRoutes([]byte(benchRoutes))
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/orders/123", "/public/Docs/Intro"} {
		r := httptest.NewRequest("GET", path, nil)
		b.Run("match"+path, func(b *testing.B) {
			for b.Loop() {
				if rs.match(r) == nil {
					b.Fatal("no route")
				}
			}
		})
		b.Run("match+lookalike"+path, func(b *testing.B) {
			for b.Loop() {
				rt := rs.match(r)
				if rt == nil || rs.lookalike(r, rt) != nil {
					b.Fatal("no route, or a look-alike")
				}
			}
		})
	}
}
