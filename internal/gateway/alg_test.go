package gateway_test

import (
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/config"
)

// TestES256Tokens: with --token-alg ES256 the gateway accepts the ES256
// tokens signet mints, for reads and signed writes, and refuses them
// altered.
func TestES256Tokens(t *testing.T) {
	e := newEnv(t, testRoutes, func(c *config.Config) { c.TokenAlg = "ES256" })
	if alg := e.parts.Issuer.Alg(); alg != "ES256" {
		t.Fatalf("issuer alg %s", alg)
	}
	u := e.newUser()
	e.grant(u, "Orders:Read", "Orders:Create")
	if !strings.HasPrefix(u.token, "eyJhbGciOiJFUzI1NiIs") { // {"alg":"ES256",
		t.Fatalf("token header is not ES256: %.40s", u.token)
	}
	if r := e.do("GET", "/orders/1", u.token, nil); r.status != 200 {
		t.Fatalf("GET: %d %s", r.status, r.raw)
	}
	if r := e.signed(u, "POST", "/orders", `{"item":"pen"}`); r.status != 200 {
		t.Fatalf("signed POST: %d %s", r.status, r.raw)
	}
	// The last signature byte flipped: refused, upstream untouched.
	b := []byte(u.token)
	if b[len(b)-2] == 'A' {
		b[len(b)-2] = 'B'
	} else {
		b[len(b)-2] = 'A'
	}
	n := e.up.count()
	if r := e.do("GET", "/orders/1", string(b), nil); r.status != 401 {
		t.Errorf("altered ES256 token: %d %s", r.status, r.raw)
	}
	if e.up.count() != n {
		t.Error("an altered token reached the upstream")
	}
}
