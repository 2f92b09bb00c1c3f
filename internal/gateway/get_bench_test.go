package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/cputime"
	"github.com/signet-auth/signet/internal/gateway"
)

// BenchmarkGET measures the server side of an authenticated GET through
// the gateway (token, principal read, Orders:Read, proxy), next to a plain
// httputil.ReverseProxy to the same upstream on the gateway's transport:
// the load command's "authenticated GET via gateway" and its baseline,
// without the client and the network. Both are called in-process, so the
// difference of their CPU per op is signet's own work (issue 13: the
// ratio to the plain proxy is decided by it on a 2-core machine).
func BenchmarkGET(b *testing.B) {
	e, u, plain := getBenchEnv(b)
	for _, c := range []struct {
		name string
		h    http.Handler
		auth bool
	}{
		{"plain", plain, false},
		{"gateway", e.parts.Handler, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
			req.RemoteAddr = "127.0.0.1:5000"
			if c.auth {
				req.Header.Set("Authorization", "Bearer "+u.token)
			}
			b.ReportAllocs()
			cpuPerOp := cputime.Meter(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := req.Clone(req.Context())
					w := httptest.NewRecorder()
					c.h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
			// The process's CPU time per request: what decides the ratio
			// on a shared 2-core machine, and less noisy than ns/op. It
			// includes the upstream's side, the same in both.
			cpuPerOp()
		})
	}
}

// getBenchEnv is the GET benchmarks' set-up: a gateway with rate limits
// off (as the load command runs signet) in front of an upstream that keeps
// no requests, a user granted Orders:Read, and a plain
// httputil.ReverseProxy to the same upstream on the gateway's transport.
func getBenchEnv(b *testing.B) (*env, *user, *httputil.ReverseProxy) {
	b.Helper()
	e := newEnv(b, testRoutes, func(c *config.Config) { c.RateLimit = "off" })
	e.up.forget = true
	u := e.newUser()
	e.grant(u, "Orders:Read")
	target, err := url.Parse(e.up.URL)
	if err != nil {
		b.Fatal(err)
	}
	plain := httputil.NewSingleHostReverseProxy(target)
	plain.Transport = gateway.NewTransport()
	return e, u, plain
}
