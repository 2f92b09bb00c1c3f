package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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
	x := &exchange{id: "req-1", p: &auth.Principal{OrgID: "or-1", UserID: "us-1", TokenID: "to-1", Kind: "Token"}, action: &auth.Action{ID: "uj-1"}}
	in = in.WithContext(context.WithValue(in.Context(), exchangeKey{}, x))
	pr := &httputil.ProxyRequest{In: in, Out: in.Clone(in.Context())}
	g.rewrite(pr, &url.URL{Scheme: "http", Host: "upstream"})
	h := pr.Out.Header
	for _, name := range []string{"X-Request-Id", HeaderOrgID, HeaderUserID, HeaderTokenID, HeaderTokenKind} {
		h[name] = append(h[name], "appended")
	}
	want := map[string][]string{
		"X-Request-Id":  {"req-1", "appended"},
		HeaderOrgID:     {"or-1", "appended"},
		HeaderUserID:    {"us-1", "appended"},
		HeaderTokenID:   {"to-1", "appended"},
		HeaderTokenKind: {"Token", "appended"},
		HeaderActionID:  {"uj-1"},
	}
	for name, w := range want {
		if got := h[name]; len(got) != len(w) || got[0] != w[0] || (len(w) > 1 && got[1] != w[1]) {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
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
