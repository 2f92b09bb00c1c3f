package gateway

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

// TestRewriteHeadersIndependent: the identity headers share one backing
// array; appending a value to one of them (as a transport or a later hook
// may) must not overwrite the next one, which would let a request reach
// the upstream under another identity's header value.
func TestRewriteHeadersIndependent(t *testing.T) {
	g := &Gateway{}
	in := httptest.NewRequest(http.MethodGet, "/orders/1", nil)
	in.RemoteAddr, in.Host = "192.0.2.1:1234", "example.com"
	x := &exchange{id: "req-1", p: &auth.Principal{OrgID: "or-1", UserID: "us-1", TokenID: "to-1", Kind: "Token"}, action: &auth.Action{ID: "uj-1"}}
	in = in.WithContext(context.WithValue(in.Context(), exchangeKey{}, x))
	pr := &httputil.ProxyRequest{In: in, Out: in.Clone(in.Context())}
	g.rewrite(pr, &url.URL{Scheme: "http", Host: "upstream"})
	h := pr.Out.Header
	for _, name := range []string{"X-Request-Id", HeaderOrgID, HeaderUserID, HeaderTokenID, HeaderTokenKind, HeaderActionID, "X-Forwarded-For", "X-Forwarded-Host"} {
		h[name] = append(h[name], "appended")
	}
	want := map[string][]string{
		"X-Request-Id":      {"req-1", "appended"},
		HeaderOrgID:         {"or-1", "appended"},
		HeaderUserID:        {"us-1", "appended"},
		HeaderTokenID:       {"to-1", "appended"},
		HeaderTokenKind:     {"Token", "appended"},
		HeaderActionID:      {"uj-1", "appended"},
		"X-Forwarded-For":   {"192.0.2.1", "appended"},
		"X-Forwarded-Host":  {"example.com", "appended"},
		"X-Forwarded-Proto": {"http"},
	}
	for name, w := range want {
		if got := h[name]; len(got) != len(w) || got[0] != w[0] || (len(w) > 1 && got[1] != w[1]) {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
	}
}

// TestSetXForwardedAsHTTPUtil: setXForwarded sets what
// httputil.ProxyRequest.SetXForwarded sets, for any client address, prior
// X-Forwarded-For, host and scheme.
func TestSetXForwardedAsHTTPUtil(t *testing.T) {
	for _, tc := range []struct {
		name, remote, host string
		prior              []string
		tls                bool
	}{
		{"plain", "192.0.2.1:1234", "example.com", nil, false},
		{"ipv6", "[2001:db8::1]:443", "example.com:8443", nil, true},
		{"prior", "192.0.2.1:1234", "example.com", []string{"198.51.100.7"}, false},
		{"prior twice", "192.0.2.1:1234", "example.com", []string{"198.51.100.7, 203.0.113.9", "10.0.0.1"}, true},
		{"prior empty", "192.0.2.1:1234", "example.com", []string{""}, false},
		{"no port", "192.0.2.1", "example.com", []string{"198.51.100.7"}, false},
		{"no address", "", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := httptest.NewRequest(http.MethodGet, "/x", nil)
			in.RemoteAddr, in.Host = tc.remote, tc.host
			if tc.prior != nil {
				in.Header["X-Forwarded-For"] = tc.prior
			}
			if !tc.tls {
				in.TLS = nil
			} else if in.TLS == nil {
				in.TLS = &tls.ConnectionState{}
			}
			// As ReverseProxy hands both to Rewrite: the outgoing request
			// without the forwarding headers, the client's prior value
			// copied in (rewrite's old code, SetXForwarded reads Out).
			std := &httputil.ProxyRequest{In: in, Out: in.Clone(in.Context())}
			if tc.prior != nil {
				std.Out.Header["X-Forwarded-For"] = slices.Clone(tc.prior)
			}
			std.SetXForwarded()
			ours := in.Clone(in.Context()).Header
			ours["X-Forwarded-For"] = []string{"stale"}
			setXForwarded(ours, in, make([]string, forwardedValues))
			for _, name := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				got, want := ours[name], std.Out.Header[name]
				if !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q (httputil)", name, got, want)
				}
			}
		})
	}
}

// TestBufferPool: buffers come back whole, and a slice that is not one of
// the pool's is dropped rather than converted (which would panic).
func TestBufferPool(t *testing.T) {
	var p bufferPool
	b := p.Get()
	if len(b) != bufferSize {
		t.Fatalf("len %d, want %d", len(b), bufferSize)
	}
	p.Put(b)
	p.Put(make([]byte, 10))
	if b := p.Get(); len(b) != bufferSize {
		t.Fatalf("len %d after a foreign Put, want %d", len(b), bufferSize)
	}
}
