package httpapi_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

// spentReads counts the store's ChallengeSpent reads.
type spentReads struct {
	auth.Store
	n atomic.Int64
}

func (s *spentReads) ChallengeSpent(ctx context.Context, id string) (bool, error) {
	s.n.Add(1)
	return s.Store.ChallengeSpent(ctx, id)
}

// TestActionCompleteSpentRead: action complete answered with a Key reads
// no spent record before checking the answer (the write that spends the
// challenge decides), and a spent challenge still gets the one answer a
// replay always got, on both stores: replayed as it was, replayed with a
// signature that does not verify, and answered by a credential that is
// not the caller's.
func TestActionCompleteSpentRead(t *testing.T) {
	const bad = "Challenge token is not valid."
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := &spentReads{Store: open(t)}
			e := newEnv(t, st)
			u := e.newUser()
			ai := e.do("POST", "/auth/action/init", u.token, map[string]string{
				"userActionPayload": `{}`, "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/logout",
			})
			if ai.status != 200 {
				t.Fatalf("action init: %d %s", ai.status, ai.raw)
			}
			answer := map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": u.signer.assert(ai.str("challenge"))}
			st.n.Store(0)
			if r := e.do("POST", "/auth/action", u.token, answer); r.status != 200 || r.str("userAction") == "" {
				t.Fatalf("action: %d %s", r.status, r.raw)
			}
			if n := st.n.Load(); n != 0 {
				t.Errorf("action complete read the spent record %d times, want 0", n)
			}
			if r := e.do("POST", "/auth/action", u.token, answer); r.status != 400 || r.errMsg() != bad {
				t.Errorf("replayed action: %d %s", r.status, r.raw)
			}
			forged := u.signer.assert(ai.str("challenge"))
			ca := forged["credentialAssertion"].(map[string]string)
			ca["signature"] = ca["signature"][:len(ca["signature"])-4] + "AAAA"
			if r := e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": forged}); r.status != 400 || r.errMsg() != bad {
				t.Errorf("replayed action, signature altered: %d %s", r.status, r.raw)
			}
			v := e.newUser()
			if r := e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": v.signer.assert(ai.str("challenge"))}); r.status != 400 || r.errMsg() != bad {
				t.Errorf("replayed action, another user's credential: %d %s", r.status, r.raw)
			}
			// A fresh challenge answered with a signature that does not
			// verify is refused as before (401), and burnt.
			ai = e.do("POST", "/auth/action/init", u.token, map[string]string{
				"userActionPayload": `{}`, "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/logout",
			})
			forged = u.signer.assert(ai.str("challenge"))
			ca = forged["credentialAssertion"].(map[string]string)
			ca["signature"] = ca["signature"][:len(ca["signature"])-4] + "AAAA"
			if r := e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": forged}); r.status != 401 {
				t.Errorf("fresh challenge, signature altered: %d %s", r.status, r.raw)
			}
			answer = map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": u.signer.assert(ai.str("challenge"))}
			if r := e.do("POST", "/auth/action", u.token, answer); r.status != 400 || r.errMsg() != bad {
				t.Errorf("burnt challenge answered right: %d %s", r.status, r.raw)
			}
		})
	}
}
