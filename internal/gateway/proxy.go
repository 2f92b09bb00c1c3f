package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/signet-auth/signet/internal/auth"
)

// The headers that tell the upstream who is calling. The gateway sets them
// from the verified principal and removes any X-Signet-* header a client
// sent, so the upstream may trust them as long as only the gateway can
// reach it.
const (
	HeaderOrgID     = "X-Signet-Org-Id"
	HeaderUserID    = "X-Signet-User-Id"
	HeaderTokenID   = "X-Signet-Token-Id"
	HeaderTokenKind = "X-Signet-Token-Kind" // Token (login), Pat or ServiceAccount (spec 12.6)
	HeaderActionID  = "X-Signet-Action-Id"  // the user action (uj-…) a signed request spent
)

// rewrite builds the upstream request. ReverseProxy has already removed the
// hop-by-hop headers, including those the client listed in Connection, and
// Forwarded and X-Forwarded-For/Host/Proto.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest, target *url.URL) {
	pr.SetURL(target)
	h := pr.Out.Header
	for k := range h {
		if untrusted(k) {
			delete(h, k)
		}
	}
	x := exchangeOf(pr.In.Context())
	actionID := ""
	if x.action != nil {
		actionID = x.action.ID
	}
	// One backing array for every value set here: one allocation.
	var v [identityValues + forwardedValues]string
	x.idHeader = fillIdentity(h, v[:identityValues], x.id, x.p, actionID)
	setXForwarded(h, pr.In, v[identityValues:])
}

// forwardedValues is how many values setXForwarded sets.
const forwardedValues = 3

// setXForwarded is httputil.ProxyRequest.SetXForwarded with the values in
// vals (len forwardedValues), a part of the caller's array: X-Forwarded-For
// gets the client's address appended to what the client sent, as
// ReverseProxy does with a Director (an upstream must trust only the
// entries its own proxies added, from the right); X-Forwarded-Host and
// -Proto are the gateway's own. TestSetXForwardedAsHTTPUtil holds it to
// the standard library's.
func setXForwarded(h http.Header, in *http.Request, vals []string) {
	if clientIP, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			clientIP = strings.Join(prior, ", ") + ", " + clientIP
		}
		vals[0] = clientIP
		h["X-Forwarded-For"] = vals[0:1:1]
	} else {
		delete(h, "X-Forwarded-For")
	}
	vals[1] = in.Host
	h["X-Forwarded-Host"] = vals[1:2:2]
	vals[2] = "http"
	if in.TLS != nil {
		vals[2] = "https"
	}
	h["X-Forwarded-Proto"] = vals[2:3:3]
}

// identityValues is how many values fillIdentity may set.
const identityValues = 6

// setIdentity sets the headers by which the upstream learns who asks: the
// request id, and for an authenticated request the principal and the user
// action it spent (actionID, "" for none). A live forward (rewrite) and an
// approved held request (forwardHeld) set them alike.
func setIdentity(h http.Header, requestID string, p *auth.Principal, actionID string) {
	var v [identityValues]string
	fillIdentity(h, v[:], requestID, p, actionID)
}

// fillIdentity is setIdentity with the values in vals (len
// identityValues): the values share one backing array, one allocation, not
// six. Each is a full slice expression, so an append by the transport to
// one header cannot write over the next. It returns X-Request-Id's value,
// which the response carries too.
func fillIdentity(h http.Header, vals []string, requestID string, p *auth.Principal, actionID string) []string {
	vals[0] = requestID
	id := vals[0:1:1]
	h["X-Request-Id"] = id
	if p != nil {
		vals[1], vals[2], vals[3], vals[4] = p.OrgID, p.UserID, p.TokenID, string(p.Kind)
		h[HeaderOrgID] = vals[1:2:2]
		h[HeaderUserID] = vals[2:3:3]
		h[HeaderTokenID] = vals[3:4:4]
		h[HeaderTokenKind] = vals[4:5:5]
	}
	if actionID != "" {
		vals[5] = actionID
		h[HeaderActionID] = vals[5:6:6]
	}
	return id
}

// untrusted reports whether a client header must not reach the upstream:
// the caller's credentials (Authorization, X-DFNS-USERACTION), anything
// that looks like signet's identity headers, and forwarding headers, which
// the gateway sets itself. Names are compared case-insensitively and with
// '_' equal to '-', because CGI-style servers (and nginx with
// underscores_in_headers) read X-Signet_User-Id as X-Signet-User-Id.
func untrusted(name string) bool {
	return hasPrefixFold(name, "x-signet-") || hasPrefixFold(name, "x-forwarded-") ||
		equalFold(name, "forwarded") || equalFold(name, "authorization") ||
		equalFold(name, "x-dfns-useraction") ||
		equalFold(name, "signature") || equalFold(name, "signature-input") || // RFC 9421: signet's, like the user action
		equalFold(name, "webauthn-authenticator-data") || equalFold(name, "webauthn-client-data")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && equalFold(s[:len(prefix)], prefix)
}

// equalFold compares s with lower, a lower-case ASCII name, ignoring case
// and treating '_' as '-'.
func equalFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// modifyResponse runs when the upstream's response headers arrive: the
// timeout no longer applies (the body may stream for as long as it takes).
func (g *Gateway) modifyResponse(res *http.Response) error {
	if x := exchangeOf(res.Request.Context()); x != nil {
		x.timer.Stop()
		// The request's own value, shared: ReverseProxy copies the
		// response's headers value by value (cap 1, so never appended to).
		if x.idHeader != nil {
			res.Header["X-Request-Id"] = x.idHeader
		} else {
			res.Header.Set("X-Request-Id", x.id)
		}
	}
	return nil
}

// proxyError answers a failed upstream call. The cause goes to the log
// only: the caller learns that the upstream failed or was too slow, never
// how (no address, no error text).
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	x := exchangeOf(r.Context())
	x.upstreamErr = err
	var ne net.Error
	switch {
	case x.body != nil && x.body.tooLarge:
		writeError(w, g.status(auth.TooLarge), string(auth.TooLarge), fmt.Sprintf("request body exceeds %d bytes", g.maxStream))
	case errors.Is(context.Cause(r.Context()), errUpstreamTimeout) || errors.As(err, &ne) && ne.Timeout():
		writeError(w, http.StatusGatewayTimeout, "gateway_timeout", "upstream timed out")
	case x.in.Err() != nil:
		// The client left; there is nobody to answer.
	default:
		writeError(w, http.StatusBadGateway, "bad_gateway", "upstream unavailable")
	}
}
