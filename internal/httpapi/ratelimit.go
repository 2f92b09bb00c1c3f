package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/ratelimit"
)

// RateLimits configures the rate limits of the route table (issue 11,
// docs/abuse.md). A nil Limiter turns rate limiting off; otherwise every
// Limit must be set.
type RateLimits struct {
	Limiter ratelimit.Limiter
	// TrustedProxies are the peers whose X-Forwarded-For is believed
	// when finding a request's client address.
	TrustedProxies []netip.Prefix
	// Address limits each client address on the routes that take no
	// credential (and on bearer routes whose token fails).
	Address ratelimit.Limit
	// Target limits each target named by an unauthenticated request: an
	// org and username, or a credential code.
	Target ratelimit.Limit
	// Send limits, per org and username, the requests that mail a code.
	Send ratelimit.Limit
	// Identity limits each authenticated identity (a user's sessions
	// together, a PAT, a service account).
	Identity ratelimit.Limit
	// Global caps, across the server (or every replica sharing Redis), the
	// requests that cost a durable write before any credential is proven.
	Global ratelimit.Limit
}

func (rl RateLimits) check() error {
	if rl.Limiter == nil {
		return nil
	}
	for name, l := range map[string]ratelimit.Limit{"Address": rl.Address, "Target": rl.Target, "Send": rl.Send,
		"Identity": rl.Identity, "Global": rl.Global} {
		if l.Rate < 1 || l.Burst < 1 || l.Period <= 0 {
			return fmt.Errorf("httpapi: rate limit %s is not set", name)
		}
	}
	return nil
}

// limitClass says how a route is rate limited. Bearer routes are limited
// per identity; every public route names its class in the route table.
type limitClass int

const (
	limitByAccess limitClass = iota // bearer routes: per identity
	// limitOpen: public, no credential, no durable write: per client
	// address only (health, JWKS, and steps that spend a challenge or a
	// temporary token made by a limited step).
	limitOpen
	// limitPrework: public and costs a durable write before any credential
	// is proven (a challenge stored, a code tried): per client address,
	// per target, and the global cap.
	limitPrework
	// limitSend: public and mails a code: per client address, per target
	// with the Send limit, and the global cap.
	limitSend
)

// msgRateLimited is the answer of every refusal; which limit refused is
// logged, not told.
const msgRateLimited = "Too many requests; retry later."

// limitPublic applies the limits of a public route before anything else
// is done with the request.
func (s *Server) limitPublic(rt route, w http.ResponseWriter, r *http.Request, body []byte) error {
	if s.limits.Limiter == nil {
		return nil
	}
	ctx := r.Context()
	addr := s.clientAddr(r)
	if rt.limit == limitOpen && (rt.method == http.MethodGet) {
		// Health checks and key fetches do not share the budget of logins.
		return s.allow(ctx, w, "open:"+addr, s.limits.Address, "address")
	}
	if err := s.allow(ctx, w, "addr:"+addr, s.limits.Address, "address"); err != nil {
		return err
	}
	if rt.limit == limitOpen {
		return nil
	}
	if t := target(body); t != "" {
		lim, class := s.limits.Target, "target"
		if rt.limit == limitSend {
			lim, class = s.limits.Send, "send"
		}
		if err := s.allow(ctx, w, class+":"+t, lim, class); err != nil {
			return err
		}
	}
	return s.allow(ctx, w, "global:prework", s.limits.Global, "global")
}

// limitIdentity applies the per-identity limit of a bearer route once the
// caller is known.
func (s *Server) limitIdentity(ctx context.Context, w http.ResponseWriter, p *auth.Principal) error {
	if s.limits.Limiter == nil {
		return nil
	}
	return s.limits.LimitIdentity(ctx, w, p)
}

// identityKey names p's per-identity budget: a user's sessions together, or
// one PAT or service account token.
func identityKey(p *auth.Principal) string {
	if p.Kind != "" && !p.IsUserSession() {
		return "token:" + p.OrgID + ":" + p.TokenID // a PAT or a service account's token
	}
	return "user:" + p.OrgID + ":" + p.UserID
}

// limitFailedAuth charges a bearer request whose token failed to the
// client address's budget, so a flood of forged tokens is refused like a
// flood of logins. It returns the refusal, or authErr.
func (s *Server) limitFailedAuth(r *http.Request, w http.ResponseWriter, authErr error) error {
	if s.limits.Limiter == nil {
		return authErr
	}
	return s.limits.LimitFailedAuth(w, r, authErr)
}

// allow asks the limiter and turns a refusal into a 429 with Retry-After.
func (s *Server) allow(ctx context.Context, w http.ResponseWriter, key string, l ratelimit.Limit, class string) error {
	return s.limits.allow(ctx, w, key, l, class)
}

func (rl RateLimits) allow(ctx context.Context, w http.ResponseWriter, key string, l ratelimit.Limit, class string) error {
	d := rl.Limiter.Allow(ctx, key, l)
	if d.Allowed {
		return nil
	}
	secs := int64((d.RetryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(max(1, secs), 10))
	return &auth.Error{Code: auth.RateLimited, Message: msgRateLimited,
		Err: errors.New("rate limit " + class + " " + l.String() + " exceeded")}
}

func (s *Server) clientAddr(r *http.Request) string { return s.limits.clientAddr(r) }

func (rl RateLimits) clientAddr(r *http.Request) string {
	return ratelimit.ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), rl.TrustedProxies)
}

// target names what an unauthenticated request is about, hashed so that
// no username or code is kept in a limiter's keys: the credential code
// it carries, else its org and username. "" when it names neither (the
// handler refuses such a body anyway).
func target(body []byte) string {
	var t struct {
		OrgID    string `json:"orgId"`
		Username string `json:"username"`
		Code     string `json:"code"`
	}
	if len(body) == 0 || json.Unmarshal(body, &t) != nil {
		return ""
	}
	var h [sha256.Size]byte
	switch {
	case t.Code != "":
		c := strings.Map(func(r rune) rune {
			if r == '-' || r == ' ' {
				return -1
			}
			return r
		}, strings.ToUpper(t.Code))
		h = sha256.Sum256([]byte("code\x00" + c))
	case t.OrgID != "" || t.Username != "":
		h = sha256.Sum256([]byte("user\x00" + t.OrgID + "\x00" + t.Username))
	default:
		return ""
	}
	return hex.EncodeToString(h[:16])
}
