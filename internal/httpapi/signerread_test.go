package httpapi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

// TestSignerReadRefuses: the requests whose principal is read with its
// signing credentials (auth.Service.AuthenticateSigner: action init, action
// complete, an RFC 9421 signed request) refuse a session revoked, or whose
// login credential was deactivated, after the challenge was issued and the
// request signed: the next request reads the state afresh, on both stores.
func TestSignerReadRefuses(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct {
				name   string
				revoke func(st auth.Store, u *user) error
			}{
				{"session revoked", func(st auth.Store, u *user) error {
					return st.RevokeSessions(context.Background(), u.orgID, u.userID)
				}},
				{"login credential deactivated", func(st auth.Store, u *user) error {
					return st.SetCredentialActive(context.Background(), u.orgID, u.userID, u.credUUID, false)
				}},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := newEnv(t, open(t))
					u := e.newUser()
					sp := signerPathsBefore(t, e, u.token, u.signer)
					if err := c.revoke(e.store, u); err != nil {
						t.Fatal(err)
					}
					sp.refused(t, e)
				})
			}
		})
	}
}

// TestSignerReadRefusesLongLived is TestSignerReadRefuses for the identities
// whose signing credentials are the token's own (TokenCredentials, read by
// PrincipalSigners' other arm): a PAT and a service account deactivated
// after their requests were signed are refused on all three paths.
func TestSignerReadRefusesLongLived(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		perm := e.createPermission(u, "signer-read", "Permissions:Create", "Auth:Users:Read") // permissionBody grants Auth:Users:Read: one may grant only what one holds
		for _, c := range []struct {
			name       string
			create     func() longLived
			deactivate string // path format, %s the identity's id
		}{
			{"PAT", func() longLived { return e.createPAT(u, "signer-read", "") }, "/auth/pats/%s/deactivate"},
			{"service account", func() longLived { return e.createServiceAccount(u, "signer-read", perm) }, "/auth/service-accounts/%s/deactivate"},
		} {
			t.Run(c.name, func(t *testing.T) {
				id := c.create()
				sp := signerPathsBefore(t, e, id.token, id.signer)
				if r := e.signed(u, "PUT", fmt.Sprintf(c.deactivate, id.id), "{}"); r.status != 200 {
					t.Fatalf("deactivate: %d %s", r.status, r.raw)
				}
				sp.refused(t, e)
			})
		}
	})
}

// signerPaths is what a caller of the three signing paths (action init,
// action complete, an RFC 9421 request) prepared while it could still use
// them: an action challenge to answer and a request signed to send later.
type signerPaths struct {
	tok       string
	k         *keySigner
	init      resp
	signedReq *sigReq
}

// signerPathsBefore checks that each path works for tok, signed by k, and
// prepares what signerPaths.refused uses afterwards.
func signerPathsBefore(t *testing.T, e *env, tok string, k *keySigner) *signerPaths {
	t.Helper()
	if r := e.send(e.httpsigRequest(tok, k, "POST", "/permissions", permissionBody())); r.status != 200 {
		t.Fatalf("RFC 9421 before: %d %s", r.status, r.raw)
	}
	sp := &signerPaths{tok: tok, k: k, init: signerActionInit(e, tok)}
	if sp.init.status != 200 {
		t.Fatalf("action/init before: %d %s", sp.init.status, sp.init.raw)
	}
	sp.signedReq = e.httpsigRequest(tok, k, "POST", "/permissions", permissionBody())
	return sp
}

// refused checks that each path now refuses the caller with 401: a new
// action init, the answer to the challenge made before, and the request
// signed before.
func (sp *signerPaths) refused(t *testing.T, e *env) {
	t.Helper()
	if r := signerActionInit(e, sp.tok); r.status != 401 {
		t.Errorf("action/init after: %d %s, want 401", r.status, r.raw)
	}
	if r := e.do("POST", "/auth/action", sp.tok, map[string]any{
		"challengeIdentifier": sp.init.str("challengeIdentifier"), "firstFactor": sp.k.assert(sp.init.str("challenge")),
	}); r.status != 401 {
		t.Errorf("action complete after: %d %s, want 401", r.status, r.raw)
	}
	if r := e.send(sp.signedReq); r.status != 401 {
		t.Errorf("RFC 9421 after: %d %s, want 401", r.status, r.raw)
	}
}

func signerActionInit(e *env, tok string) resp {
	return e.do("POST", "/auth/action/init", tok, map[string]string{
		"userActionPayload": "{}", "userActionHttpMethod": "POST", "userActionHttpPath": "/permissions",
	})
}
