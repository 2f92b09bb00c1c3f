package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/config"
)

// The cost of a guarded request for an org without policies
// (docs/policies.md, "Gateway mode": one cache lookup). In process, through
// the handler server.Assemble builds, to a real upstream.

func benchGateway(b *testing.B, method, path string, status int) {
	e := newEnv(b, testRoutes, func(c *config.Config) { c.RateLimit = "off" })
	u := e.newUser()
	e.grant(u, "Orders:Read", "Orders:Ping")
	h := e.parts.Handler
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var body *strings.Reader
		if method == http.MethodPost {
			body = strings.NewReader(`{"n":1}`)
		}
		var req *http.Request
		if body != nil {
			req = httptest.NewRequest(method, path, body)
		} else {
			req = httptest.NewRequest(method, path, nil)
		}
		req.Header.Set("Authorization", "Bearer "+u.token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != status {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
	}
}

// BenchmarkGatewayGET: an authenticated GET of a route with an operation.
func BenchmarkGatewayGET(b *testing.B) { benchGateway(b, http.MethodGet, "/orders/1", 200) }

// BenchmarkGatewayPOSTUnsigned: a POST of an unsigned route with an
// operation.
func BenchmarkGatewayPOSTUnsigned(b *testing.B) {
	benchGateway(b, http.MethodPost, "/orders/1/ping", 200)
}
