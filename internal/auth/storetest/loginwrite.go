package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// CreateLoginForChallenge is the write of a login that read nothing since
// login init (internal/auth, Login's readless path): the store checks, in
// the commit that spends the challenge, every rule the login's read let
// the domain check. A refused write still spends the challenge (spec 12.4).

// loginWriteFixture is an org with a user who may log in, holding key
// credential cr-ok, and everything a login write must refuse beside it.
type loginWriteFixture struct {
	u    *auth.User
	cred *auth.Credential
}

func newLoginWriteFixture(t *testing.T, s auth.Store, name string) loginWriteFixture {
	t.Helper()
	n := mustOrg(t, s, name)
	u := mustUser(t, s, n.Org.ID, "us-"+name+"-login")
	c := mustCred(t, s, u.OrgID, u.ID, "", "cr-"+name+"-ok")
	return loginWriteFixture{u: u, cred: c}
}

// loginRecord is the record a login of u with credential uuid writes.
func loginRecord(u *auth.User, id, uuid string) *auth.AccessToken {
	return newToken(u.OrgID, u.ID, id, token.KindLogin, uuid)
}

// loginWrite is CreateLoginForChallenge with a key credential, checking
// the name it returns on success is want.
func loginWrite(t *testing.T, s auth.Store, ch string, rec *auth.AccessToken, kind auth.CredentialKind, want string) error {
	t.Helper()
	name, err := s.CreateLoginForChallenge(t.Context(), ch, at(time.Hour), rec, kind)
	if err == nil && name != want {
		t.Errorf("CreateLoginForChallenge(%s) returned the name %q, want %q", ch, name, want)
	}
	if err != nil && name != "" {
		t.Errorf("CreateLoginForChallenge(%s) failed (%v) and returned a name %q", ch, err, name)
	}
	return err
}

func testCreateLoginForChallenge(t *testing.T, s auth.Store) {
	ctx := t.Context()
	f := newLoginWriteFixture(t, s, "lw")
	exp := at(time.Hour)

	tok := loginRecord(f.u, "to-ok", f.cred.UUID)
	check(t, "CreateLoginForChallenge", loginWrite(t, s, "ch-ok", tok, auth.KindKey, f.u.Username), nil)
	got, err := s.AccessToken(ctx, f.u.OrgID, tok.ID)
	check(t, "AccessToken", err, nil)
	diff(t, "AccessToken", got, tok)
	check(t, "SpendChallenge(spent by the login)", s.SpendChallenge(ctx, "ch-ok", exp), auth.ErrUsed)

	// Spent before (burnt, or answered): ErrUsed, nothing inserted, even
	// when the precondition fails too.
	check(t, "SpendChallenge", s.SpendChallenge(ctx, "ch-burnt", exp), nil)
	for i, id := range []string{"ch-burnt", "ch-ok"} {
		x := loginRecord(f.u, fmt.Sprintf("to-again-%d", i), f.cred.UUID)
		check(t, "CreateLoginForChallenge("+id+")", loginWrite(t, s, id, x, auth.KindKey, ""), auth.ErrUsed)
		_, err := s.AccessToken(ctx, f.u.OrgID, x.ID)
		check(t, "AccessToken(after "+id+")", err, auth.ErrNotFound)
		bad := loginRecord(f.u, fmt.Sprintf("to-again-bad-%d", i), "cr-nowhere")
		check(t, "CreateLoginForChallenge("+id+", refused)", loginWrite(t, s, id, bad, auth.KindKey, ""), auth.ErrUsed)
	}

	// A failed insert (not a refusal) leaves the challenge unspent.
	dup := loginRecord(f.u, tok.ID, f.cred.UUID)
	check(t, "CreateLoginForChallenge(dup id)", loginWrite(t, s, "ch-dup", dup, auth.KindKey, ""), auth.ErrDuplicate)
	check(t, "SpendChallenge(after a failed insert)", s.SpendChallenge(ctx, "ch-dup", exp), nil)

	// The name returned is the user's as the write finds it: renamed
	// since login init, the token carries the new name (as a login that
	// reads the user does).
	renamed := *f.u
	renamed.Username = "renamed@example.com"
	check(t, "UpdateUser(rename)", identities(t, s).UpdateUser(ctx, &renamed), nil)
	check(t, "CreateLoginForChallenge(renamed)", loginWrite(t, s, "ch-renamed", loginRecord(f.u, "to-renamed", f.cred.UUID), auth.KindKey, renamed.Username), nil)

	// A PasswordProtectedKey logs in as a Key does, named by its kind.
	ppk := newCred(f.u.OrgID, f.u.ID, "", "cr-lw-ppk")
	ppk.Kind, ppk.EncryptedPrivateKey = auth.KindPasswordProtectedKey, "encrypted"
	check(t, "CreateCredential(ppk)", s.CreateCredential(ctx, ppk), nil)
	check(t, "CreateLoginForChallenge(ppk)", loginWrite(t, s, "ch-ppk", loginRecord(f.u, "to-ppk", ppk.UUID), auth.KindPasswordProtectedKey, renamed.Username), nil)
}

// testCreateLoginForChallengeRefused: one row per rule the write checks.
// Each is refused with ErrRefused, inserts nothing and spends the challenge.
func testCreateLoginForChallengeRefused(t *testing.T, s auth.Store) {
	ctx := t.Context()
	ids := identities(t, s)
	f := newLoginWriteFixture(t, s, "lr")
	other := newLoginWriteFixture(t, s, "lr2") // another org, its user and key
	org := f.u.OrgID

	// A user of the org, changed by change, with an own key credential.
	userWith := func(id string, change func(u *auth.User)) (*auth.User, *auth.Credential) {
		u := newUser(org, id)
		if change != nil {
			change(u)
		}
		check(t, "CreateUser "+id, s.CreateUser(ctx, u), nil)
		return u, mustCred(t, s, org, u.ID, "", "cr-"+id)
	}
	inactive, inactiveCred := userWith("us-inactive", func(u *auth.User) { u.IsActive = false })
	// Archived but still marked active: the archived rule alone refuses it.
	archivedU, archivedCred := userWith("us-archived", func(u *auth.User) { u.IsArchived = true })
	unregistered, unregisteredCred := userWith("us-unregistered", func(u *auth.User) { u.IsRegistered = false })
	sa, saCred := userWith("us-sa", func(u *auth.User) { u.IsServiceAccount = true; u.Kind = auth.CustomerEmployee })
	sso, ssoCred := userWith("us-sso", nil)
	sso.IsSSORequired = true
	check(t, "UpdateUser(sso)", ids.UpdateUser(ctx, sso), nil)

	// Credentials of f.u that it may not log in with, and another user's.
	tokenCred := mustCred(t, s, org, f.u.ID, "to-some-pat", "cr-lr-token")
	offCred := mustCred(t, s, org, f.u.ID, "", "cr-lr-off")
	check(t, "SetCredentialActive(off)", s.SetCredentialActive(ctx, org, f.u.ID, offCred.UUID, false), nil)
	peer, peerCred := userWith("us-peer", nil)
	_ = peer

	key := auth.KindKey
	for _, c := range []struct {
		name string
		rec  *auth.AccessToken
		kind auth.CredentialKind
	}{
		// The user.
		{"user missing", newToken(org, "us-missing", "to-r1", token.KindLogin, f.cred.UUID), key},
		{"user of another org", newToken(org, other.u.ID, "to-r2", token.KindLogin, other.cred.UUID), key},
		{"user inactive", loginRecord(inactive, "to-r3", inactiveCred.UUID), key},
		{"user archived", loginRecord(archivedU, "to-r4", archivedCred.UUID), key},
		{"user unregistered", loginRecord(unregistered, "to-r5", unregisteredCred.UUID), key},
		{"service account", loginRecord(sa, "to-r6", saCred.UUID), key},
		{"SSO required", loginRecord(sso, "to-r7", ssoCred.UUID), key},
		// The credential.
		{"credential missing", loginRecord(f.u, "to-r9", "cr-missing"), key},
		{"another user's credential", loginRecord(f.u, "to-r10", peerCred.UUID), key},
		{"another org's credential", loginRecord(f.u, "to-r11", other.cred.UUID), key},
		{"a token's credential", loginRecord(f.u, "to-r12", tokenCred.UUID), key},
		{"credential inactive", loginRecord(f.u, "to-r13", offCred.UUID), key},
		{"credential of another kind", loginRecord(f.u, "to-r14", f.cred.UUID), auth.KindPasswordProtectedKey},
	} {
		ch := "ch-" + c.rec.ID
		check(t, "CreateLoginForChallenge("+c.name+")", loginWrite(t, s, ch, c.rec, c.kind, ""), auth.ErrRefused)
		if _, err := s.AccessToken(ctx, c.rec.OrgID, c.rec.ID); err == nil {
			t.Errorf("%s: the login record was inserted", c.name)
		}
		spent, err := s.ChallengeSpent(ctx, ch)
		if check(t, "ChallengeSpent("+c.name+")", err, nil); !spent {
			t.Errorf("%s: the refused write left its challenge unspent", c.name)
		}
		check(t, "CreateLoginForChallenge("+c.name+", again)", loginWrite(t, s, ch, c.rec, c.kind, ""), auth.ErrUsed)
	}
	// The same user and credential, as they are, log in.
	check(t, "CreateLoginForChallenge(fixture)", loginWrite(t, s, "ch-fine", loginRecord(f.u, "to-fine", f.cred.UUID), key, f.u.Username), nil)
}

// testCreateLoginForChallengeConcurrent: one challenge answered by many
// login writes at once, some of them refused by their precondition:
// exactly one call spends it, and only its record is there.
func testCreateLoginForChallengeConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	f := newLoginWriteFixture(t, s, "lc")
	const callers = 48
	toks := make([]*auth.AccessToken, callers)
	for i := range toks {
		uuid := f.cred.UUID
		if i%4 == 3 {
			uuid = "cr-missing" // refused: spends the challenge, inserts nothing
		}
		toks[i] = loginRecord(f.u, fmt.Sprintf("to-%02d", i), uuid)
	}
	errs := concurrently(callers, func(i int) error {
		_, err := s.CreateLoginForChallenge(ctx, "ch-1", at(time.Hour), toks[i], auth.KindKey)
		return err
	})
	winners := 0
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil, errors.Is(err, auth.ErrRefused):
			winners++
			winner = i
		case !errors.Is(err, auth.ErrUsed):
			t.Errorf("call %d: %v, want ErrUsed or a win", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d calls spent the challenge, want exactly 1", winners)
	}
	all, err := s.AccessTokens(ctx, f.u.OrgID, f.u.ID, token.KindLogin)
	check(t, "AccessTokens", err, nil)
	switch {
	case errs[winner] == nil && (len(all) != 1 || all[0].ID != toks[winner].ID):
		t.Errorf("winner %d inserted, records %v", winner, all)
	case errs[winner] != nil && len(all) != 0:
		t.Errorf("the winner was refused, yet %d records are there", len(all))
	}
}
