// Package storetest is the conformance suite every auth.Store must pass
// (STYLE.md habit 5). internal/sqlite runs it always, internal/postgres
// whenever SIGNET_TEST_POSTGRES is set, so the two backends cannot drift
// apart: a behaviour the domain relies on is pinned here, once.
//
// The suite only uses the auth.Store interface. What it pins beyond the
// interface's doc comments, so that both backends agree:
//
//   - a record is expired when its ExpiresAt is not after now (ExpiresAt <=
//     now): ConsumeChallenge and UseAction refuse it and Sweep removes it;
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

		{"CreateOrg", testCreateOrg},
		{"CreateOrgAtomic", testCreateOrgAtomic},
		{"OrgNotFound", testOrgNotFound},

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

		{"CreateCredential", testCreateCredential},
		{"CreateCredentialErrors", testCreateCredentialErrors},
		{"CredentialLists", testCredentialLists},
		{"CredentialOtherOrg", testCredentialOtherOrg},
		{"SetCredentialActive", testSetCredentialActive},
		{"SetCredentialActiveErrors", testSetCredentialActiveErrors},
		{"UpdateSignCount", testUpdateSignCount},
		{"UpdateSignCountConcurrent", testUpdateSignCountConcurrent},

		{"Principal", testPrincipal},
		{"PrincipalCredential", testPrincipalCredential},
		{"PrincipalNotFound", testPrincipalNotFound},
		{"CreateAccessTokenErrors", testCreateAccessTokenErrors},
		{"RevokeAccessToken", testRevokeAccessToken},
		{"RevokeAccessTokenErrors", testRevokeAccessTokenErrors},
		{"RevokeSessions", testRevokeSessions},

		{"ConsumeChallenge", testConsumeChallenge},
		{"ConsumeChallengeErrors", testConsumeChallengeErrors},
		{"CreateChallengeErrors", testCreateChallengeErrors},
		{"ConsumeChallengeConcurrent", testConsumeChallengeConcurrent},

		{"UseAction", testUseAction},
		{"UseActionErrors", testUseActionErrors},
		{"CreateActionErrors", testCreateActionErrors},
		{"UseActionConcurrent", testUseActionConcurrent},

		{"Operations", testOperations},
		{"Assignments", testAssignments},
		{"PermissionWriter", testPermissionWriter},

		{"SigningKeys", testSigningKeys},
		{"CreateSigningKeyAtomic", testCreateSigningKeyAtomic},

		{"Sweep", testSweep},
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

// PermissionWriter is implemented by stores that can create permissions and
// assignments outside CreateOrg. auth.PermissionStore has no such methods
// yet, and without them the suite cannot give one identity several
// permissions; a store that implements this interface gets those tests too
// (they are skipped otherwise).
type PermissionWriter interface {
	// CreatePermission inserts p. ErrDuplicate when its id or its name (in
	// its org, archived permissions included) is taken.
	CreatePermission(ctx context.Context, p *auth.Permission) error
	// CreateAssignment inserts a. ErrDuplicate when its id is taken or the
	// identity already has the permission; ErrNotFound when the permission
	// is not in a.OrgID.
	CreateAssignment(ctx context.Context, a *auth.Assignment) error
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
			ID:        userID,
			OrgID:     orgID,
			Username:  "admin@" + name + ".example",
			Kind:      auth.CustomerEmployee,
			IsActive:  true,
			CreatedAt: at(0),
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

// tokenState returns the stored state of a token, read through Principal.
func tokenState(t *testing.T, s auth.Store, orgID, id string) auth.AccessToken {
	t.Helper()
	p, err := s.Principal(t.Context(), orgID, id)
	check(t, "Principal "+id, err, nil)
	return p.Token
}

// newChallenge returns an action challenge of the user expiring at exp.
func newChallenge(orgID, userID, id string, exp time.Time) *auth.Challenge {
	return &auth.Challenge{
		ID:             id,
		OrgID:          orgID,
		UserID:         userID,
		TokenID:        "to-" + id,
		Purpose:        auth.PurposeAction,
		Challenge:      "challenge-" + id,
		Method:         "POST",
		Path:           "/wallets",
		Query:          "a=1&b=2",
		PayloadHash:    []byte{0x01, 0x02, 0x03},
		CredentialKind: auth.KindFido2,
		ExpiresAt:      exp,
		CreatedAt:      at(0),
	}
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
	check(t, "CreateChallenge", s.CreateChallenge(t.Context(), newChallenge(u.OrgID, u.ID, "ch-1", at(time.Hour))), nil)
	a := newAction(u.OrgID, u.ID, "uj-1", at(time.Hour))
	check(t, "CreateAction", s.CreateAction(t.Context(), a), nil)

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
		{"CreateChallenge", func() error {
			return s.CreateChallenge(ctx, newChallenge(u.OrgID, u.ID, "ch-2", at(time.Hour)))
		}},
		{"ConsumeChallenge", func() error { _, err := s.ConsumeChallenge(ctx, "ch-1", at(0)); return err }},
		{"CreateAction", func() error { return s.CreateAction(ctx, newAction(u.OrgID, u.ID, "uj-2", at(time.Hour))) }},
		{"UseAction", func() error { _, err := s.UseAction(ctx, a.TokenHash, at(0)); return err }},
		{"Operations", func() error { _, err := s.Operations(ctx, u.OrgID, u.ID); return err }},
		{"Assignments", func() error { _, err := s.Assignments(ctx, u.OrgID, u.ID); return err }},
		{"Sweep", func() error { _, err := s.Sweep(ctx, at(0)); return err }},
		{"SigningKeys", func() error { _, err := s.SigningKeys(ctx); return err }},
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
	if _, err := s.ConsumeChallenge(t.Context(), "ch-1", at(0)); err != nil {
		t.Errorf("challenge consumed by a canceled call: %v", err)
	}
	if _, err := s.UseAction(t.Context(), a.TokenHash, at(0)); err != nil {
		t.Errorf("action used by a canceled call: %v", err)
	}
	if p, err := s.Principal(t.Context(), u.OrgID, "to-1"); err != nil || !p.Token.IsActive || !p.CredentialActive {
		t.Errorf("Principal after canceled revocations = %+v, %v; want active token and credential", p, err)
	}
}
