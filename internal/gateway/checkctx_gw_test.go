package gateway_test

import (
	"net/http"
	"testing"

	"github.com/signet-auth/signet/internal/gateway"
)

// TestCheckDeadlineArmedOnlyWhenWaiting: an authenticated GET answered
// from memory (token, principal, operations cached) arms no check timer,
// and a signed POST, whose spend waits on the store, does: the checks'
// bound is there whenever a check can wait. TestGuardUnavailable shows
// that bound answering a stalled store with a 503.
func TestCheckDeadlineArmedOnlyWhenWaiting(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Read", "Orders:Create")
	for range 2 { // warm the caches
		if r := e.do("GET", "/orders/42", u.token, nil); r.status != http.StatusOK {
			t.Fatalf("GET = %d %s", r.status, r.raw)
		}
	}
	before := gateway.ArmedChecks()
	for range 3 {
		if r := e.do("GET", "/orders/42", u.token, nil); r.status != http.StatusOK {
			t.Fatalf("GET = %d %s", r.status, r.raw)
		}
	}
	if n := gateway.ArmedChecks() - before; n != 0 {
		t.Errorf("3 warm GETs armed %d check timers, want 0", n)
	}
	ua := e.userAction(u, "POST", "/orders", `{"n":1}`)
	before = gateway.ArmedChecks()
	if r := e.do("POST", "/orders", u.token, `{"n":1}`, "X-DFNS-USERACTION", ua); r.status != http.StatusOK {
		t.Fatalf("signed POST = %d %s", r.status, r.raw)
	}
	if gateway.ArmedChecks() == before {
		t.Error("a signed POST, which writes to the store, armed no check timer")
	}
}
