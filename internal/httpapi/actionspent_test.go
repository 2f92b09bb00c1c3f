package httpapi_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// spentReads counts the store's ChallengeSpent reads and SpendChallenge
// writes (the burn of a refused answer).
type spentReads struct {
	auth.Store
	n     atomic.Int64
	burns atomic.Int64
}

func (s *spentReads) ChallengeSpent(ctx context.Context, id string) (bool, error) {
	s.n.Add(1)
	return s.Store.ChallengeSpent(ctx, id)
}

func (s *spentReads) SpendChallenge(ctx context.Context, id string, expiresAt time.Time) error {
	s.burns.Add(1)
	return s.Store.SpendChallenge(ctx, id, expiresAt)
}

// TestActionCompleteSpentRead: action complete answered with a Key reads
// no spent record before checking the answer (the write that spends the
// challenge decides), and a spent challenge still gets the one answer a
// replay always got, on both stores and for every kind of identity that
// signs (a login session, a PAT, a service account): replayed as it was
// (refused without a second write), replayed with a signature that does
// not verify, and answered by a credential that is not the caller's.
func TestActionCompleteSpentRead(t *testing.T) {
	const bad = "Challenge token is not valid."
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := &spentReads{Store: open(t)}
			e := newEnv(t, st)
			u := e.newUser()
			pat := e.createPAT(u, "pat", "")
			sa := e.createServiceAccount(u, "bot", "")
			other := e.newUser()
			for _, id := range []struct {
				name, token string
				signer      *keySigner
			}{
				{"login session", u.token, u.signer},
				{"PAT", pat.token, pat.signer},
				{"service account", sa.token, sa.signer},
			} {
				t.Run(id.name, func(t *testing.T) {
					init := func() resp {
						ai := e.do("POST", "/auth/action/init", id.token, map[string]string{
							"userActionPayload": `{}`, "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/logout",
						})
						if ai.status != 200 {
							t.Fatalf("action init: %d %s", ai.status, ai.raw)
						}
						return ai
					}
					forge := func(ai resp) map[string]any {
						forged := id.signer.assert(ai.str("challenge"))
						ca := forged["credentialAssertion"].(map[string]string)
						ca["signature"] = ca["signature"][:len(ca["signature"])-4] + "AAAA"
						return map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": forged}
					}
					ai := init()
					answer := map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": id.signer.assert(ai.str("challenge"))}
					st.n.Store(0)
					if r := e.do("POST", "/auth/action", id.token, answer); r.status != 200 || r.str("userAction") == "" {
						t.Fatalf("action: %d %s", r.status, r.raw)
					}
					if n := st.n.Load(); n != 0 {
						t.Errorf("action complete read the spent record %d times, want 0", n)
					}
					st.burns.Store(0)
					if r := e.do("POST", "/auth/action", id.token, answer); r.status != 400 || r.errMsg() != bad {
						t.Errorf("replayed action: %d %s", r.status, r.raw)
					}
					if n := st.burns.Load(); n != 0 {
						t.Errorf("a replay found spent was burnt again: %d writes, want 0", n)
					}
					if r := e.do("POST", "/auth/action", id.token, forge(ai)); r.status != 400 || r.errMsg() != bad {
						t.Errorf("replayed action, signature altered: %d %s", r.status, r.raw)
					}
					if r := e.do("POST", "/auth/action", id.token, map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": other.signer.assert(ai.str("challenge"))}); r.status != 400 || r.errMsg() != bad {
						t.Errorf("replayed action, another user's credential: %d %s", r.status, r.raw)
					}
					// A fresh challenge answered with a signature that does not
					// verify is refused as before (401), and burnt.
					ai = init()
					if r := e.do("POST", "/auth/action", id.token, forge(ai)); r.status != 401 {
						t.Errorf("fresh challenge, signature altered: %d %s", r.status, r.raw)
					}
					answer = map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": id.signer.assert(ai.str("challenge"))}
					if r := e.do("POST", "/auth/action", id.token, answer); r.status != 400 || r.errMsg() != bad {
						t.Errorf("burnt challenge answered right: %d %s", r.status, r.raw)
					}
				})
			}
		})
	}
}
