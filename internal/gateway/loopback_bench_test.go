package gateway_test

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// BenchmarkGETLoopback is the load command's one-client GET in one
// process: a client with one connection sends GETs one after another over
// loopback to a real http.Server (the timeouts of `signet serve`) in front
// of the gateway, and in front of a plain httputil.ReverseProxy, to the
// same upstream. At one client the rate is 1/latency, so ns/op here is
// what decides the ratio (issue 13); run it with -cpu 2 and interleave
// with -count. Run it with -trace to count the goroutine wake-ups per GET.
func BenchmarkGETLoopback(b *testing.B) {
	e, u, plain := getBenchEnv(b)
	for _, c := range []struct {
		name string
		h    http.Handler
		srv  func(h http.Handler) *http.Server
		auth bool
	}{
		// The load command's plain proxy: nothing but ReadHeaderTimeout.
		{"plain", plain, func(h http.Handler) *http.Server {
			return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		}, false},
		// signet serve's server (internal/server.Serve).
		{"gateway", e.parts.Handler, func(h http.Handler) *http.Server {
			return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
				WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
		}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := c.srv(c.h)
			go srv.Serve(ln)
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			req, err := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/orders/42", nil)
			if err != nil {
				b.Fatal(err)
			}
			if c.auth {
				req.Header.Set("Authorization", "Bearer "+u.token)
			}
			get := func() {
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
			for range 200 { // connect, warm the caches
				get()
			}
			b.ResetTimer()
			for b.Loop() {
				get()
			}
		})
	}
}
