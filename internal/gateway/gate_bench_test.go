package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/cputime"
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

// BenchmarkGatewayRFC9421: an RFC 9421 signed POST (client.KeySigner, ECDSA
// P-256) through the handler server.Assemble builds, to a real upstream, on
// SQLite as shipped (FULL), one at a time. The requests are signed before
// the timer starts; cpu-us/op is the process's user+system time per
// request (the upstream's and the store's included), the figure that is
// least disturbed by other load on the machine.
func BenchmarkGatewayRFC9421(b *testing.B) {
	e := newEnv(b, testRoutes, func(c *config.Config) { c.RateLimit = "off" })
	u := e.newUser()
	e.grant(u, "Orders:Create")
	h := e.parts.Handler
	const body = `{"item":"widget","quantity":3,"note":"load test order"}`
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		req := httptest.NewRequest(http.MethodPost, "http://signet.example/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+u.token)
		if err := u.signer.SignRequest(req, []byte(body), time.Now()); err != nil {
			b.Fatal(err)
		}
		reqs[i] = req
	}
	b.ReportAllocs()
	cpuPerOp := cputime.Meter(b)
	b.ResetTimer()
	for _, req := range reqs {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	cpuPerOp()
}

// BenchmarkGatewayDfnsFlow: the Dfns signed POST (action init, sign and
// action complete by the SDK's SignAction, then the POST with
// X-DFNS-USERACTION) through the gateway over loopback HTTP, from 16
// callers, on SQLite as shipped (FULL). cpu-us/op is the process's user+system time per flow:
// signet's, the SDK client's (its ECDSA signature, its JSON, its HTTP) and
// the upstream's; the client's and the upstream's share does not change
// with signet's code, so a difference between two builds is signet's.
func BenchmarkGatewayDfnsFlow(b *testing.B) {
	e := newEnv(b, testRoutes, func(c *config.Config) { c.RateLimit = "off" })
	u := e.newUser()
	e.grant(u, "Orders:Create")
	const body = `{"item":"widget","quantity":3,"note":"load test order"}`
	b.SetParallelism(8) // 16 callers at GOMAXPROCS=2
	b.ReportAllocs()
	cpuPerOp := cputime.Meter(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ua, err := u.client.SignAction(b.Context(), http.MethodPost, "/orders", body)
			if err != nil {
				b.Error(err)
				return
			}
			req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, e.url+"/orders", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+u.token)
			req.Header.Set("X-DFNS-USERACTION", ua)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("POST /orders: %d", res.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	cpuPerOp()
}
