package gateway_test

import (
	"strconv"
	"testing"

	"github.com/signet-auth/signet/internal/config"
)

// weakRoutes put weaker routes (public catch-alls, a route with another
// operation) beside guarded ones, under which a look-alike of a guarded
// path would be forwarded if only the default were checked.
const weakRoutes = `{
  "operations": ["Admin:Read", "Orders:Read", "Orders:Create", "Reports:Read"],
  "routes": [
    {"method": "GET", "path": "/admin/x", "operation": "Admin:Read"},
    {"method": "GET", "path": "/orders/{id}", "operation": "Orders:Read"},
    {"method": "PUT", "path": "/orders/{id}", "operation": "Orders:Create"},
    {"method": "GET", "path": "/reports/{id}", "operation": "Reports:Read"},
    {"method": "GET", "path": "/Reports/{n}", "public": true},
    {"method": "GET", "path": "/public/Secret", "operation": "Admin:Read"},
    {"method": "GET", "path": "/public/{x...}", "public": true},
    {"method": "GET", "path": "/{rest...}", "public": true},
    {"method": "PUT", "path": "/{rest...}", "public": true}
  ],
  "default": "deny"
}`

// TestLookalikeUnderWeakerRoute: a spelling of a guarded path that a
// public route matches is refused before the upstream is contacted, for
// anonymous and authenticated callers, signed or not.
func TestLookalikeUnderWeakerRoute(t *testing.T) {
	e := newEnv(t, weakRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Read", "Orders:Create", "Reports:Read") // not Admin:Read
	for _, p := range []string{"/ADMIN/x", "/Admin/X", "/admin/x/", "/ADMIN/X/", "/ORDERS/1", "/orders/1/", "/Orders/1/",
		"/REPORTS/1", "/reports/1/", "/public/secret", "/PUBLIC/SECRET", "/public/Secret/"} {
		for _, tok := range []string{"", u.token} {
			n := e.up.count()
			e.refused(t, "GET "+p+" token="+strconv.FormatBool(tok != ""), e.do("GET", p, tok, nil), n, 403, "forbidden")
		}
	}
	// Signed, under the public PUT catch-all: refused, nothing spent.
	n := e.up.count()
	e.refused(t, "PUT /ORDERS/1", e.signed(u, "PUT", "/ORDERS/1", `{"a":1}`), n, 403, "forbidden")
	e.refused(t, "anonymous PUT /orders/1/", e.do("PUT", "/orders/1/", "", `{"a":1}`), n, 403, "forbidden")

	// The declared routes still pass, with what they ask.
	for _, c := range []struct {
		method, path, tok string
		status            int
	}{
		{"GET", "/orders/1", u.token, 200},
		{"GET", "/orders/1", "", 401},
		{"GET", "/reports/7", u.token, 200},
		{"GET", "/Reports/7", "", 200}, // a declared case variant: its own public route
		{"GET", "/admin/x", u.token, 403},
		{"GET", "/public/anything", "", 200},
		{"GET", "/public/secret-not", "", 200},
		{"GET", "/elsewhere/Page", "", 200},
		{"GET", "/", "", 200},
	} {
		n := e.up.count()
		r := e.do(c.method, c.path, c.tok, nil)
		if r.status != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, r.status, r.raw, c.status)
		}
		if got := e.up.count() - n; (c.status == 200) != (got == 1) {
			t.Errorf("%s %s: upstream received %d requests", c.method, c.path, got)
		}
	}
	if r := e.signed(u, "PUT", "/orders/1", `{"a":1}`); r.status != 200 {
		t.Errorf("PUT /orders/1: %d %s", r.status, r.raw)
	}
}

// TestLookalikeUnderOtherOperation: a catch-all that needs one operation
// does not let through a spelling of a route that needs another; one
// that asks nothing more goes by the catch-all.
func TestLookalikeUnderOtherOperation(t *testing.T) {
	e := newEnv(t, `{
  "operations": ["Admin:Read", "Pages:Read"],
  "routes": [
    {"method": "GET", "path": "/admin/x", "operation": "Admin:Read"},
    {"method": "GET", "path": "/pages/Home", "operation": "Pages:Read"},
    {"method": "GET", "path": "/{rest...}", "operation": "Pages:Read"}
  ]
}`)
	u := e.newUser()
	e.grant(u, "Pages:Read")
	for _, p := range []string{"/ADMIN/x", "/admin/x/", "/Admin/x/"} {
		n := e.up.count()
		e.refused(t, "GET "+p, e.do("GET", p, u.token, nil), n, 403, "forbidden")
	}
	// The same operation as the catch-all: nothing more asked.
	for _, p := range []string{"/pages/home", "/PAGES/HOME/", "/pages/Home", "/other"} {
		if r := e.do("GET", p, u.token, nil); r.status != 200 {
			t.Errorf("GET %s: %d %s", p, r.status, r.raw)
		}
	}
	// Anonymous callers still get 401 first on a guarded catch-all.
	n := e.up.count()
	e.refused(t, "anonymous GET /ADMIN/x", e.do("GET", "/ADMIN/x", "", nil), n, 401, "unauthenticated")
}

// TestUpstreamRateLimits: guarded upstream routes share the per-identity
// budget of signet's own routes, public ones have a per-address budget,
// failed credentials charge the address; every refusal is a 429 JSON
// error with Retry-After, before the upstream is contacted.
func TestUpstreamRateLimits(t *testing.T) {
	limits := func(c *config.Config) {
		c.RateLimitIdentity = "5/1h"
		c.RateLimitAddress = "20/1h"
	}
	e := newEnv(t, testRoutes, limits)
	a, b := e.newUser(), e.newUser()
	e.grant(a, "Orders:Read")
	e.grant(b, "Orders:Read")
	for i := range 5 {
		if r := e.do("GET", "/orders/1", a.token, nil); r.status != 200 {
			t.Fatalf("request %d of a: %d %s", i, r.status, r.raw)
		}
	}
	n := e.up.count()
	r := e.do("GET", "/orders/1", a.token, nil)
	e.refused(t, "a's 6th request", r, n, 429, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// The same identity on signet's own routes: one budget.
	if r := e.do("GET", "/auth/users", a.token, nil); r.status != 429 {
		t.Errorf("a on signet's own route: %d, want 429", r.status)
	}
	// Another identity still passes.
	if r := e.do("GET", "/orders/1", b.token, nil); r.status != 200 {
		t.Errorf("b: %d %s", r.status, r.raw)
	}

	// Public upstream route: per client address, its own budget.
	for i := range 20 {
		if r := e.do("GET", "/public/x", "", nil); r.status != 200 {
			t.Fatalf("public request %d: %d %s", i, r.status, r.raw)
		}
	}
	n = e.up.count()
	r = e.do("GET", "/public/x", "", nil)
	e.refused(t, "public flood", r, n, 429, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Forged tokens charge the address (already partly spent by the two
	// sign-ups): 401 until the budget is gone, then 429.
	got429 := false
	for range 30 {
		r := e.do("GET", "/orders/1", "forged", nil)
		if r.status == 429 {
			got429 = true
			break
		}
		if r.status != 401 {
			t.Fatalf("forged token: %d %s", r.status, r.raw)
		}
	}
	if !got429 {
		t.Error("a flood of forged tokens was never rate limited")
	}
	if e.up.count() != n {
		t.Error("a refused request reached the upstream")
	}
}

// TestUpstreamRateLimitsOff: --rate-limit off turns the upstream limits
// off too.
func TestUpstreamRateLimitsOff(t *testing.T) {
	e := newEnv(t, testRoutes, func(c *config.Config) {
		c.RateLimit = "off"
		c.RateLimitIdentity = "1/1h"
		c.RateLimitAddress = "1/1h"
	})
	u := e.newUser()
	e.grant(u, "Orders:Read")
	for i := range 10 {
		if r := e.do("GET", "/orders/1", u.token, nil); r.status != 200 {
			t.Fatalf("request %d: %d %s", i, r.status, r.raw)
		}
		if r := e.do("GET", "/public/x", "", nil); r.status != 200 {
			t.Fatalf("public request %d: %d %s", i, r.status, r.raw)
		}
	}
}
