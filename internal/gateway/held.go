package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/signet-auth/signet/internal/auth"
)

// Requests a policy holds for approval (docs/policies.md, "Gateway mode").
// The gateway stores the request exactly as it was signed (method, target,
// the headers it would forward, the body bytes) and answers 202; the
// replica that resolves the approval forwards it once, through
// forwardHeld, which auth.Service calls.

// hopHeaders are the hop-by-hop headers (RFC 9110 7.6.1) ReverseProxy
// removes; a held request keeps none of them.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// held is r as the gateway would forward it, to be stored with its
// approval: the headers are those rewrite lets through, before it adds
// the gateway's own.
func held(r *http.Request, x *exchange, body []byte) *auth.HeldRequest {
	h := r.Header.Clone()
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
	for k := range h {
		// Cookie is the client's credential for the upstream: like the
		// bearer token it is not kept at rest with the approval, which
		// may wait for days; the upstream learns who asked from the
		// identity headers forwardHeld sets.
		if untrusted(k) || equalFold(k, "x-request-id") || equalFold(k, "content-length") || equalFold(k, "cookie") {
			delete(h, k)
		}
	}
	target := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	req := &auth.HeldRequest{Method: r.Method, Target: target, Header: h, Body: bytes.Clone(body), RequestID: x.id}
	if x.action != nil {
		req.ActionID = x.action.ID
	}
	return req
}

// forwardHeld sends an approved held request to the upstream, as p (its
// initiator, checked again by the caller), and returns the upstream's
// status. It is called once per approval: an error (no answer) is not
// retried, since the upstream may have acted on the request.
func (g *Gateway) forwardHeld(ctx context.Context, p *auth.Principal, req *auth.HeldRequest) (int, error) {
	u, err := url.ParseRequestURI(req.Target)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	in := (&http.Request{Method: req.Method, URL: u, Header: http.Header(req.Header)}).WithContext(ctx)
	pr := &httputil.ProxyRequest{In: in, Out: in.Clone(ctx)}
	pr.SetURL(&g.target)
	out := pr.Out
	out.Header = http.Header(req.Header).Clone()
	if out.Header == nil {
		out.Header = http.Header{}
	}
	setIdentity(out.Header, req.RequestID, p, req.ActionID)
	out.Body, out.ContentLength = http.NoBody, 0
	if len(req.Body) > 0 {
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(req.Body)), int64(len(req.Body))
	}
	out.RequestURI = ""
	res, err := g.transport.RoundTrip(out)
	if err != nil {
		return 0, err
	}
	// The answer's body has nobody to go to: drain a little, so the
	// connection may be reused, and drop the rest.
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return res.StatusCode, nil
}
