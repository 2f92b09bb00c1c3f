// Package storetest is the conformance suite every auth.Store must pass
// (STYLE.md habit 5). internal/sqlite runs it always, internal/postgres
// whenever SIGNET_TEST_POSTGRES is set, so the two backends cannot drift
// apart: a behaviour the domain relies on is pinned here, once.
//
// The suite only uses the auth.Store interface. What it pins beyond the
// interface's doc comments, so that both backends agree:
//
//   - a record is expired when its ExpiresAt is not after now (ExpiresAt <=
//     now): UseAction refuses it and Sweep removes it (a spent challenge's
//     record, SpentChallengeGrace later);
//   - a write that names a missing org or user (a foreign key) fails with
//     auth.ErrNotFound; a unique or primary key violation with
//     auth.ErrDuplicate;
//   - a Credential's CredID is unique within its org, among users' and
//     tokens' credentials alike; a token's credential and the token's record
//     may be created in either order (neither references the other);
//   - Principal reports CredentialActive false when the token names a
//     credential that does not exist;
//   - SetCredentialActive and RevokeAccessToken succeed when the value is
//     already set; RevokeSessions succeeds when there is nothing to revoke;
//   - Assignments lists archived permissions too; Operations leaves them out;
//   - a PAT's Name is unique among its user's unarchived PATs (byte for
//     byte); archiving a PAT frees its name, and unarchiving or renaming
//     one onto a name in use fails with auth.ErrDuplicate. A permission's
//     name stays reserved after it is archived;
//   - ListUsers, ListPermissions and ListAssignments order by id, return ids
//     greater than After ("" or an id that is not there alike) and at most
//     Limit rows, every row when Limit <= 0; archived users and permissions
//     are listed too. ListAssignments of a permission that is not in the org
//     is empty, not an error. AccessTokens orders by CreatedAt, then id;
//   - CreateLongLived refuses, and writes nothing of, a LongLived whose
//     parts do not belong together: no Token or Credential, a Credential
//     whose TokenID, UserID or OrgID is not the Token's, a Token whose
//     CredentialUUID is not the Credential's, a User that is not the
//     Token's user, an Assignment in another org;
//   - UpdateUser, UpdateAccessToken and UpdatePermission leave every field
//     but the ones their doc comments name as stored, and succeed when
//     nothing changes;
//   - a login challenge may have no UserID;
//   - times come back Equal to what was written (callers truncate to
//     milliseconds) and in time.UTC;
//   - nil and empty slices are interchangeable; list order is not pinned;
//   - every method fails with context.Canceled on a canceled context and
//     does nothing.
package storetest

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// Run runs every conformance test against the stores open returns. open is
// called once per subtest and must return a new, empty store; it registers
// the store's cleanup itself (t.Cleanup(func() { s.Close() })).
func Run(t *testing.T, open func(t *testing.T) auth.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s auth.Store)
	}{
		{"Ping", testPing},
		{"CanceledContext", testCanceledContext},
		{"Readiness", testReadiness},   // readiness.go
		{"ActionRead", testActionRead}, // readiness.go

		{"CreateOrg", testCreateOrg},
		{"CreateOrgAtomic", testCreateOrgAtomic},
		{"OrgNotFound", testOrgNotFound},
		{"HasOrgs", testHasOrgs},

		{"OIDCProviders", testOIDCProviders}, // oidc.go

		{"CreateUser", testCreateUser},
		{"CreateUserErrors", testCreateUserErrors},
		{"UserOtherOrg", testUserOtherOrg},
		{"UsernameInTwoOrgs", testUsernameInTwoOrgs},

		{"RegistrationCode", testRegistrationCode},
		{"RegistrationCodeErrors", testRegistrationCodeErrors},
		{"RegistrationCodeConcurrent", testRegistrationCodeConcurrent},
		{"RegisterUser", testRegisterUser},
		{"RegisterUserErrors", testRegisterUserErrors},
		{"RegisterUserConcurrent", testRegisterUserConcurrent},
		{"CodesAdd", testCodesAdd},                         // codes.go
		{"CodesAttempts", testCodesAttempts},               // codes.go
		{"CodesSpentBySuccess", testCodesSpentBySuccess},   // codes.go
		{"LoginCodes", testLoginCodes},                     // logincodes.go
		{"LoginCodesAttempts", testLoginCodesAttempts},     // logincodes.go
		{"PasswordProtectedKey", testPasswordProtectedKey}, // logincodes.go

		{"CreateCredential", testCreateCredential},
		{"CreateCredentialErrors", testCreateCredentialErrors},
		{"CredentialLists", testCredentialLists},
		{"LoginReads", testLoginReads},             // loginread.go
		{"PrincipalSigners", testPrincipalSigners}, // signerread.go
		{"CredentialOtherOrg", testCredentialOtherOrg},
		{"SetCredentialActive", testSetCredentialActive},
		{"SetCredentialActiveErrors", testSetCredentialActiveErrors},
		{"UpdateSignCount", testUpdateSignCount},
		{"UpdateSignCountConcurrent", testUpdateSignCountConcurrent},

		{"Principal", testPrincipal},
		{"PrincipalCredential", testPrincipalCredential},
		{"PrincipalNotFound", testPrincipalNotFound},
		{"PrincipalSeesChanges", testPrincipalSeesChanges}, // principalchanges.go
		{"SubjectSeesChanges", testSubjectSeesChanges},     // subjectchanges.go
		{"CreateAccessTokenErrors", testCreateAccessTokenErrors},
		{"RevokeAccessToken", testRevokeAccessToken},
		{"RevokeAccessTokenErrors", testRevokeAccessTokenErrors},
		{"RevokeSessions", testRevokeSessions},

		{"SpendChallenge", testSpendChallenge}, // forchallenge.go
		{"SpendChallengeConcurrent", testSpendChallengeConcurrent},
		{"AnswersConcurrent", testAnswersConcurrent},
		{"CreateActionForChallenge", testCreateActionForChallenge},
		{"CreateActionForChallengeConcurrent", testCreateActionForChallengeConcurrent},
		{"CreateAccessTokenForChallenge", testCreateAccessTokenForChallenge},
		{"CreateAccessTokenForChallengeConcurrent", testCreateAccessTokenForChallengeConcurrent},
		{"CreateLoginForChallenge", testCreateLoginForChallenge}, // loginwrite.go
		{"CreateLoginForChallengeRefused", testCreateLoginForChallengeRefused},
		{"CreateLoginForChallengeConcurrent", testCreateLoginForChallengeConcurrent},
		{"SpendActionForChallenge", testSpendActionForChallenge}, // spendforchallenge.go
		{"SpendActionForChallengeConcurrent", testSpendActionForChallengeConcurrent},
		{"SpendActionForChallengeChain", testSpendActionForChallengeChain},
		{"QueueOutcome", testQueueOutcome},

		{"UseAction", testUseAction},
		{"UseActionErrors", testUseActionErrors},
		{"CreateActionErrors", testCreateActionErrors},
		{"UseActionConcurrent", testUseActionConcurrent},
		{"Audit", testAudit}, // audit.go

		{"Operations", testOperations},
		{"Assignments", testAssignments},
		{"PermissionWrites", testPermissionWrites},
		{"AuthzVersion", testAuthzVersion},
		{"AuthzVersionRollback", testAuthzVersionRollback},

		{"ListUsers", testListUsers},
		{"UpdateUser", testUpdateUser},
		{"UpdateUserErrors", testUpdateUserErrors},
		{"CreateLongLived", testCreateLongLived},
		{"CreateLongLivedAtomic", testCreateLongLivedAtomic},
		{"PATNames", testPATNames},
		{"AccessTokens", testAccessTokens},
		{"UpdateAccessToken", testUpdateAccessToken},
		{"Permissions", testPermissions},
		{"UpdatePermission", testUpdatePermission},
		{"ListAssignments", testListAssignments},
		{"DeleteAssignment", testDeleteAssignment},
		{"AdminGuardUser", testAdminGuardUser},             // adminguard.go
		{"AdminGuardAssignment", testAdminGuardAssignment}, // adminguard.go
		{"AdminGuardCredential", testAdminGuardCredential}, // adminguard.go
		{"AdminGuardConcurrent", testAdminGuardConcurrent}, // adminguard.go

		{"RecoveryCode", testRecoveryCode},
		{"RecoverUser", testRecoverUser},
		{"RecoverUserAtomic", testRecoverUserAtomic},
		{"CredentialCode", testCredentialCode},
		{"CredentialCodeSpentOnSuccess", testCredentialCodeSpentOnSuccess},
		{"RecoveryCanceledContext", testRecoveryCanceledContext},

		{"SigningKeys", testSigningKeys},
		{"CreateSigningKeyAtomic", testCreateSigningKeyAtomic},

		{"Sweep", testSweep},

		{"Policies", testPolicies},                                   // policies.go
		{"Approvals", testApprovals},                                 // policies.go
		{"ResolveApprovalConcurrent", testResolveApprovalConcurrent}, // policies.go
		{"UnfinishedApprovals", testUnfinishedApprovals},             // policies.go
		{"AppendAuditEntry", testAppendAuditEntry},                   // policies.go
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			tt.fn(t, s)
		})
	}
}

// identities returns s as an auth.IdentityStore, which every store must
// implement. (Until auth.Store embeds IdentityStore the suite asserts it.)
func identities(t *testing.T, s auth.Store) auth.IdentityStore {
	t.Helper()
	ids, ok := s.(auth.IdentityStore)
	if !ok {
		t.Fatalf("%T does not implement auth.IdentityStore", s)
	}
	return ids
}

// t0 is the clock of the suite. Every time it writes is t0 plus whole
// milliseconds, in UTC, as the domain produces them.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// cmpOpts compares records: times by Equal (cmp uses the Equal method), nil
// and empty slices alike.
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

// diff fails t when got and want differ.
func diff(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// check fails t unless err matches want: nil, or errors.Is(err, want).
func check(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}

// mustFail fails t when err is nil: for failures whose error the suite does
// not pin.
func mustFail(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want an error", what)
	}
}

// inUTC fails t when tm is not in time.UTC.
func inUTC(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if tm.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, tm.Location())
	}
}

// concurrently runs f n times at once (as far as the scheduler allows) and
// returns every result.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// tally fails t unless exactly one of errs is nil and every other matches
// want.
func tally(t *testing.T, errs []error, want error) {
	t.Helper()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, want):
			t.Errorf("call %d: error = %v, want %v", i, err, want)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent calls succeeded, want exactly 1", ok, len(errs))
	}
}

// newOrg returns a bootstrap NewOrg whose ids all end in name.
func newOrg(name string) auth.NewOrg {
	orgID := "or-" + name
	userID := "us-" + name + "-admin"
	permID := "pm-" + name + "-admin"
	return auth.NewOrg{
		Org: auth.Org{ID: orgID, Name: "Org " + name, CreatedAt: at(0)},
		User: auth.User{
			ID:         userID,
			OrgID:      orgID,
			Username:   "admin@" + name + ".example",
			Kind:       auth.CustomerEmployee,
			IsActive:   true,
			ExternalID: "ext-admin-" + name,
			CreatedAt:  at(0),
		},
		Permission: auth.Permission{
			ID:          permID,
			OrgID:       orgID,
			Name:        "DefaultAdminAccess",
			Operations:  []string{"Auth:Users:Create", "Auth:Users:Read", "Auth:Pats:Create"},
			IsImmutable: true,
			CreatedAt:   at(0),
			UpdatedAt:   at(time.Millisecond),
		},
		Assignment: auth.Assignment{
			ID:           "as-" + name + "-admin",
			OrgID:        orgID,
			PermissionID: permID,
			IdentityID:   userID,
			IsImmutable:  true,
			CreatedAt:    at(0),
			UpdatedAt:    at(2 * time.Millisecond),
		},
		Code: auth.RegistrationCode{
			UserID:    userID,
			Hash:      []byte("code-hash-" + name),
			ExpiresAt: at(time.Hour),
		},
	}
}

// mustOrg creates the org named name and returns what it wrote.
func mustOrg(t *testing.T, s auth.Store, name string) auth.NewOrg {
	t.Helper()
	n := newOrg(name)
	check(t, "CreateOrg "+name, s.CreateOrg(t.Context(), n), nil)
	return n
}

// newUser returns a registered, active user.
func newUser(orgID, id string) *auth.User {
	return &auth.User{
		ID:           id,
		OrgID:        orgID,
		Username:     id + "@example.com",
		Kind:         auth.EndUser,
		IsActive:     true,
		IsRegistered: true,
		CreatedAt:    at(time.Second),
	}
}

// mustUser creates and returns a registered, active user.
func mustUser(t *testing.T, s auth.Store, orgID, id string) *auth.User {
	t.Helper()
	u := newUser(orgID, id)
	check(t, "CreateUser "+id, s.CreateUser(t.Context(), u), nil)
	return u
}

// newCred returns an active Key credential of the user (or of tokenID).
func newCred(orgID, userID, tokenID, uuid string) *auth.Credential {
	return &auth.Credential{
		UUID:      uuid,
		OrgID:     orgID,
		UserID:    userID,
		TokenID:   tokenID,
		CredID:    "cid-" + uuid,
		Kind:      auth.KindKey,
		Name:      "key " + uuid,
		PublicKey: "-----BEGIN PUBLIC KEY-----\nMFkw" + uuid + "\n-----END PUBLIC KEY-----\n",
		Algorithm: "ECDSA",
		IsActive:  true,
		SignCount: 0,
		RPID:      "signet.example",
		Origin:    "https://signet.example",
		CreatedAt: at(2 * time.Second),
	}
}

// mustCred creates and returns a credential.
func mustCred(t *testing.T, s auth.Store, orgID, userID, tokenID, uuid string) *auth.Credential {
	t.Helper()
	c := newCred(orgID, userID, tokenID, uuid)
	check(t, "CreateCredential "+uuid, s.CreateCredential(t.Context(), c), nil)
	return c
}

// newToken returns an active access token record.
func newToken(orgID, userID, id string, kind token.Kind, credUUID string) *auth.AccessToken {
	return &auth.AccessToken{
		ID:             id,
		OrgID:          orgID,
		UserID:         userID,
		Kind:           kind,
		Name:           "token " + id,
		CredentialUUID: credUUID,
		ExternalID:     "ext-" + id,
		IsActive:       true,
		ExpiresAt:      at(24 * time.Hour),
		CreatedAt:      at(3 * time.Second),
	}
}

// mustToken creates and returns an access token record.
func mustToken(t *testing.T, s auth.Store, orgID, userID, id string, kind token.Kind, credUUID string) *auth.AccessToken {
	t.Helper()
	tok := newToken(orgID, userID, id, kind, credUUID)
	check(t, "CreateAccessToken "+id, s.CreateAccessToken(t.Context(), tok), nil)
	return tok
}

// keyedUser is a user of org a, created by mustKeyedUser, whose credentials
// test the reads that return them with the user (LoginReads,
// PrincipalSigners).
type keyedUser struct {
	n, b  auth.NewOrg        // orgs a and b
	u     *auth.User         // the user, in org a
	early *auth.Credential   // its oldest credential
	late  *auth.Credential   // its newest credential
	own   []*auth.Credential // Credentials(u): early, the inactive one, late
}

// mustKeyedUser creates orgs a and b and, in a, the user id with three
// credentials of its own, created newest first so that their order comes
// from created_at (late, early, and an inactive password-protected key with
// a sign count), one of another user (cr-other) and one of its PAT to-pat
// (cr-pat), which Credentials must leave out. It fails t unless Credentials
// returns the three, late last.
func mustKeyedUser(t *testing.T, s auth.Store, id string) keyedUser {
	t.Helper()
	ctx := t.Context()
	k := keyedUser{n: mustOrg(t, s, "a"), b: mustOrg(t, s, "b")}
	k.u = mustUser(t, s, k.n.Org.ID, id)
	u := k.u
	other := mustUser(t, s, k.n.Org.ID, "us-other")
	k.late = newCred(u.OrgID, u.ID, "", "cr-a-late")
	k.late.CreatedAt = at(5 * time.Second)
	check(t, "CreateCredential late", s.CreateCredential(ctx, k.late), nil)
	k.early = mustCred(t, s, u.OrgID, u.ID, "", "cr-z-early")
	inactive := newCred(u.OrgID, u.ID, "", "cr-inactive")
	inactive.IsActive = false
	inactive.SignCount = 7
	inactive.Kind = auth.KindPasswordProtectedKey
	inactive.EncryptedPrivateKey = "ciphertext"
	check(t, "CreateCredential inactive", s.CreateCredential(ctx, inactive), nil)
	mustCred(t, s, u.OrgID, other.ID, "", "cr-other")
	pat := mustCred(t, s, u.OrgID, u.ID, "to-pat", "cr-pat")
	mustToken(t, s, u.OrgID, u.ID, "to-pat", token.KindPAT, pat.UUID)

	var err error
	k.own, err = s.Credentials(ctx, u.OrgID, u.ID)
	check(t, "Credentials", err, nil)
	if len(k.own) != 3 || k.own[2].UUID != k.late.UUID {
		t.Fatalf("Credentials = %d, last %v; want 3 with %s last", len(k.own), k.own, k.late.UUID)
	}
	return k
}

// tokenState returns the stored state of a token, read through Principal.
func tokenState(t *testing.T, s auth.Store, orgID, id string) auth.PrincipalToken {
	t.Helper()
	p, err := s.Principal(t.Context(), orgID, id)
	check(t, "Principal "+id, err, nil)
	return p.Token
}

// ptok is the part of tok that Principal reads.
func ptok(tok auth.AccessToken) auth.PrincipalToken {
	return auth.PrincipalOf(&tok, &auth.User{}, false, 0).Token
}

// newAction returns an unused action of the user expiring at exp.
func newAction(orgID, userID, id string, exp time.Time) *auth.Action {
	return &auth.Action{
		ID:             id,
		TokenHash:      []byte("hash-" + id),
		OrgID:          orgID,
		UserID:         userID,
		TokenID:        "to-" + id,
		CredentialUUID: "cr-" + id,
		Method:         "DELETE",
		Path:           "/auth/pats/to-1",
		Query:          "",
		PayloadHash:    []byte{0xde, 0xad, 0xbe, 0xef},
		ExpiresAt:      exp,
		CreatedAt:      at(0),
	}
}

// sortCreds sorts credentials by UUID: list order is not pinned.
func sortCreds(cs []*auth.Credential) []*auth.Credential {
	sort.Slice(cs, func(i, j int) bool { return cs[i].UUID < cs[j].UUID })
	return cs
}

func testPing(t *testing.T, s auth.Store) {
	check(t, "Ping", s.Ping(t.Context()), nil)
}

// testCanceledContext proves every method hands its ctx to the driver: with
// a canceled context each one fails with context.Canceled.
func testCanceledContext(t *testing.T, s auth.Store) {
	n := mustOrg(t, s, "a")
	u := n.User
	c := mustCred(t, s, u.OrgID, u.ID, "", "cr-1")
	mustToken(t, s, u.OrgID, u.ID, "to-1", token.KindLogin, c.UUID)
	a := newAction(u.OrgID, u.ID, "uj-1", at(time.Hour))
	check(t, "CreateAction", s.CreateAction(t.Context(), a), nil)
	ids := identities(t, s)
	pat := mustLongLived(t, s, newPAT(u.OrgID, u.ID, "to-pat", "ci")).Token

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"CreateOrg", func() error { return s.CreateOrg(ctx, newOrg("b")) }},
		{"Org", func() error { _, err := s.Org(ctx, u.OrgID); return err }},
		{"CreateUser", func() error { return s.CreateUser(ctx, newUser(u.OrgID, "us-new")) }},
		{"User", func() error { _, err := s.User(ctx, u.OrgID, u.ID); return err }},
		{"UserByUsername", func() error { _, err := s.UserByUsername(ctx, u.OrgID, u.Username); return err }},
		{"UserWithCredentials", func() error { _, _, err := s.UserWithCredentials(ctx, u.OrgID, u.Username); return err }},
		{"LoginSubject", func() error { _, _, _, err := s.LoginSubject(ctx, u.OrgID, u.ID, "ch-1"); return err }},
		{"SetRegistrationCode", func() error { return s.SetRegistrationCode(ctx, n.Code) }},
		{"ConsumeRegistrationCode", func() error { _, err := s.ConsumeRegistrationCode(ctx, u.ID, n.Code.Hash); return err }},
		{"RegisterUser", func() error {
			return s.RegisterUser(ctx, u.ID, []*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-2")})
		}},
		{"CreateCredential", func() error { return s.CreateCredential(ctx, newCred(u.OrgID, u.ID, "", "cr-3")) }},
		{"Credentials", func() error { _, err := s.Credentials(ctx, u.OrgID, u.ID); return err }},
		{"TokenCredentials", func() error { _, err := s.TokenCredentials(ctx, u.OrgID, "to-1"); return err }},
		{"CredentialByUUID", func() error { _, err := s.CredentialByUUID(ctx, u.OrgID, c.UUID); return err }},
		{"SetCredentialActive", func() error { return s.SetCredentialActive(ctx, u.OrgID, u.ID, c.UUID, false) }},
		{"UpdateSignCount", func() error { return s.UpdateSignCount(ctx, c.UUID, 0, 1) }},
		{"CreateAccessToken", func() error {
			return s.CreateAccessToken(ctx, newToken(u.OrgID, u.ID, "to-2", token.KindPAT, ""))
		}},
		{"Principal", func() error { _, err := s.Principal(ctx, u.OrgID, "to-1"); return err }},
		{"RevokeAccessToken", func() error { return s.RevokeAccessToken(ctx, u.OrgID, u.ID, "to-1") }},
		{"RevokeSessions", func() error { return s.RevokeSessions(ctx, u.OrgID, u.ID) }},
		{"SpendChallenge", func() error { return s.SpendChallenge(ctx, "ch-1", at(time.Hour)) }},
		{"ChallengeSpent", func() error { _, err := s.ChallengeSpent(ctx, "ch-1"); return err }},
		{"CreateActionForChallenge", func() error {
			a := newAction(u.OrgID, u.ID, "uj-3", at(time.Hour))
			return s.CreateActionForChallenge(ctx, "ch-2", at(time.Hour), a, pending(a))
		}},
		{"CreateAccessTokenForChallenge", func() error {
			return s.CreateAccessTokenForChallenge(ctx, "ch-3", at(time.Hour), newToken(u.OrgID, u.ID, "to-3", token.KindLogin, ""))
		}},
		{"CreateAction", func() error { return s.CreateAction(ctx, newAction(u.OrgID, u.ID, "uj-2", at(time.Hour))) }},
		{"UseAction", func() error { _, err := s.UseAction(ctx, a.TokenHash, at(0)); return err }},
		{"Operations", func() error { _, err := s.Operations(ctx, u.OrgID, u.ID); return err }},
		{"Assignments", func() error { _, err := s.Assignments(ctx, u.OrgID, u.ID); return err }},
		{"Sweep", func() error { _, err := s.Sweep(ctx, at(0)); return err }},
		{"SigningKeys", func() error { _, err := s.SigningKeys(ctx); return err }},
		{"ListUsers", func() error { _, err := ids.ListUsers(ctx, u.OrgID, auth.UserQuery{}); return err }},
		{"UpdateUser", func() error { c := u; c.IsActive = false; return ids.UpdateUser(ctx, &c) }},
		{"CreateLongLived", func() error { return ids.CreateLongLived(ctx, newPAT(u.OrgID, u.ID, "to-pat-2", "cd")) }},
		{"AccessToken", func() error { _, err := ids.AccessToken(ctx, u.OrgID, pat.ID); return err }},
		{"AccessTokens", func() error { _, err := ids.AccessTokens(ctx, u.OrgID, u.ID, token.KindPAT); return err }},
		{"UpdateAccessToken", func() error { c := *pat; c.IsActive = false; return ids.UpdateAccessToken(ctx, &c) }},
		{"CreatePermission", func() error {
			return ids.CreatePermission(ctx, newPermission(u.OrgID, "pm-new", "New"))
		}},
		{"Permission", func() error { _, err := ids.Permission(ctx, u.OrgID, n.Permission.ID); return err }},
		{"ListPermissions", func() error { _, err := ids.ListPermissions(ctx, u.OrgID, auth.PageQuery{}); return err }},
		{"UpdatePermission", func() error {
			p := n.Permission
			p.Operations = nil
			return ids.UpdatePermission(ctx, &p)
		}},
		{"CreateAssignment", func() error {
			return ids.CreateAssignment(ctx, newAssignment(u.OrgID, "as-new", n.Permission.ID, pat.ID))
		}},
		{"ListAssignments", func() error {
			_, err := ids.ListAssignments(ctx, u.OrgID, n.Permission.ID, auth.PageQuery{})
			return err
		}},
		{"DeleteAssignment", func() error { return ids.DeleteAssignment(ctx, u.OrgID, n.Permission.ID, n.Assignment.ID) }},
		{"CreateSigningKey", func() error {
			return s.CreateSigningKey(ctx, token.StoredKey{ID: "k1", Sealed: []byte{1}, Public: []byte{2}, CreatedAt: at(0)})
		}},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: error = %v, want context.Canceled", c.name, err)
		}
	}

	// Nothing the canceled calls tried was done.
	for _, id := range []string{"ch-1", "ch-2", "ch-3"} {
		if err := s.SpendChallenge(t.Context(), id, at(time.Hour)); err != nil {
			t.Errorf("challenge %s spent by a canceled call: %v", id, err)
		}
	}
	if _, err := s.UseAction(t.Context(), a.TokenHash, at(0)); err != nil {
		t.Errorf("action used by a canceled call: %v", err)
	}
	if p, err := s.Principal(t.Context(), u.OrgID, "to-1"); err != nil || !p.Token.IsActive || !p.CredentialActive {
		t.Errorf("Principal after canceled revocations = %+v, %v; want active token and credential", p, err)
	}
	got, err := s.User(t.Context(), u.OrgID, u.ID)
	check(t, "User", err, nil)
	diff(t, "User after a canceled UpdateUser", got, &u)
	tok, err := ids.AccessToken(t.Context(), u.OrgID, pat.ID)
	check(t, "AccessToken", err, nil)
	diff(t, "PAT after a canceled UpdateAccessToken", tok, pat)
	_, err = ids.AccessToken(t.Context(), u.OrgID, "to-pat-2")
	check(t, "AccessToken(PAT of a canceled CreateLongLived)", err, auth.ErrNotFound)
	_, err = ids.Permission(t.Context(), u.OrgID, "pm-new")
	check(t, "Permission(of a canceled CreatePermission)", err, auth.ErrNotFound)
	as, err := s.Assignments(t.Context(), u.OrgID, u.ID)
	check(t, "Assignments", err, nil)
	diff(t, "Assignments after canceled writes", as, []auth.AssignedPermission{{Assignment: n.Assignment, Permission: n.Permission}})
	as, err = s.Assignments(t.Context(), u.OrgID, pat.ID)
	check(t, "Assignments(pat)", err, nil)
	diff(t, "Assignments of the PAT after a canceled CreateAssignment", as, []auth.AssignedPermission(nil))
}
