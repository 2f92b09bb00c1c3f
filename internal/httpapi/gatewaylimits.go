package httpapi

import (
	"context"
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// The methods below let the gateway (internal/gateway.Limits) apply these
// limits to the requests it forwards upstream, with the same limiter and
// the same budgets as signet's own routes: an identity has one budget for
// both, and a client address whose credentials fail one budget for both.
// With a nil Limiter they refuse nothing.

// LimitPublic charges r's client address for a public upstream route. The
// budget is the Address limit, kept apart from that of logins and
// registrations ("upstream:" keys), so browsing a public upstream page
// never locks a person out of signing in.
func (rl RateLimits) LimitPublic(w http.ResponseWriter, r *http.Request) error {
	if rl.Limiter == nil {
		return nil
	}
	return rl.allow(r.Context(), w, "upstream:"+rl.clientAddr(r), rl.Address, "upstream address")
}

// LimitFailedAuth charges r's client address for a request whose
// credential is missing or failed, as signet's own bearer routes do; it
// returns the refusal, or authErr.
func (rl RateLimits) LimitFailedAuth(w http.ResponseWriter, r *http.Request, authErr error) error {
	if rl.Limiter == nil {
		return authErr
	}
	if err := rl.allow(r.Context(), w, "addr:"+rl.clientAddr(r), rl.Address, "address"); err != nil {
		return err
	}
	return authErr
}

// LimitIdentity charges p, an authenticated caller, the per-identity
// budget it also spends on signet's own routes.
func (rl RateLimits) LimitIdentity(ctx context.Context, w http.ResponseWriter, p *auth.Principal) error {
	if rl.Limiter == nil {
		return nil
	}
	return rl.allow(ctx, w, "id:"+identityKey(p), rl.Identity, "identity")
}
