package postgres

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// loginCase is one UserWithCredentials caller of a batch and what it must
// get: the user (empty: not found) and its one credential.
type loginCase struct {
	name, org, username string
	user, cred          string
}

// loginCases: two orgs' usernames, each asked under its own org and under
// the other's (found in its own org only, even when the same batch asks
// for it under its own), and an unknown name.
func loginCases(a, b fixture) []loginCase {
	return []loginCase{
		{"a's name in a", a.org.ID, a.user.Username, a.user.ID, a.cred.UUID},
		{"b's name in b", b.org.ID, b.user.Username, b.user.ID, b.cred.UUID},
		{"b's name in a", a.org.ID, b.user.Username, "", ""},
		{"a's name in b", b.org.ID, a.user.Username, "", ""},
		{"unknown name in a", a.org.ID, "nobody@a", "", ""},
		{"a's name in a again", a.org.ID, a.user.Username, a.user.ID, a.cred.UUID},
	}
}

func checkLogin(t *testing.T, c loginCase, u *auth.User, cs []*auth.Credential, err error) {
	t.Helper()
	switch {
	case c.user == "" && !errors.Is(err, auth.ErrNotFound):
		t.Errorf("%s: got %+v, %v; want not found", c.name, u, err)
	case c.user != "" && err != nil:
		t.Errorf("%s: %v", c.name, err)
	case c.user != "" && (u.ID != c.user || u.OrgID != c.org || u.Username != c.username):
		t.Errorf("%s: got user %s of %s (%s), want %s of %s", c.name, u.ID, u.OrgID, u.Username, c.user, c.org)
	case c.user != "" && (len(cs) != 1 || cs[0].UUID != c.cred || cs[0].OrgID != c.org || !cs[0].IsActive):
		t.Errorf("%s: credentials %+v, want %s", c.name, cs, c.cred)
	}
}

// TestUserWithCredentialsBatchOwnAnswers: callers of different orgs and
// usernames gathered into one statement each get their own user and
// credentials, or not-found; a username asked under another org is not
// found although the same statement finds it under its own. A user's
// credentials come oldest first, and two callers of one key get their own
// copies.
func TestUserWithCredentialsBatchOwnAnswers(t *testing.T) {
	s := openTest(t)
	a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
	// b's user has a second credential, older than its first by
	// created_at and listed after it by uuid.
	c2 := auth.Credential{UUID: "cr-b0", OrgID: b.org.ID, UserID: b.user.ID, CredID: "key-b2", Kind: auth.KindKey,
		Name: "phone", PublicKey: "PEM", Algorithm: "ES256", IsActive: true, CreatedAt: t0.Add(-time.Minute)}
	if err := s.CreateCredential(t.Context(), &c2); err != nil {
		t.Fatal(err)
	}
	h := holdReads(s.logins)
	cases := loginCases(a, b)
	free := occupy(t, s.logins)
	us, css, errs := make([]*auth.User, len(cases)), make([][]*auth.Credential, len(cases)), make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() { us[i], css[i], errs[i] = s.UserWithCredentials(t.Context(), c.org, c.username) })
	}
	h.waitJoined(len(cases))
	free()
	wg.Wait()
	for i, c := range cases {
		if i == 1 { // b: two credentials, c2 first
			if errs[i] != nil || us[i].ID != b.user.ID || len(css[i]) != 2 || css[i][0].UUID != c2.UUID || css[i][1].UUID != b.cred.UUID {
				t.Errorf("%s: %+v %+v %v; want b with %s, %s", c.name, us[i], css[i], errs[i], c2.UUID, b.cred.UUID)
			}
			continue
		}
		checkLogin(t, c, us[i], css[i], errs[i])
	}
	if got := s.logins.stats; got.batches != 1 || got.keys != int64(len(cases)-1) {
		t.Errorf("%d batches of %d keys, want 1 of %d", got.batches, got.keys, len(cases)-1)
	}
	if us[0] == us[5] || css[0][0] == css[5][0] {
		t.Error("two callers of one key share a User or a Credential")
	}
}

// subjectCase is one LoginSubject caller of a batch and what it must get.
type subjectCase struct {
	name                 string
	org, user, challenge string
	spent                bool
	found                bool
}

// TestLoginSubjectBatchOwnAnswers: LoginSubject callers gathered into one
// statement each learn whether their own challenge was spent, spent and
// unspent ones mixed, and get their own user (of their org only) and its
// credentials.
func TestLoginSubjectBatchOwnAnswers(t *testing.T) {
	s := openTest(t)
	a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
	if err := s.SpendChallenge(t.Context(), "ch-spent", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cases := []subjectCase{
		{"a in a, spent", a.org.ID, a.user.ID, "ch-spent", true, true},
		{"b in b, unspent", b.org.ID, b.user.ID, "ch-free", false, true},
		{"b in a, unspent", a.org.ID, b.user.ID, "ch-free", false, false},
		{"a in b, spent", b.org.ID, a.user.ID, "ch-spent", true, false},
		{"a in a, unspent", a.org.ID, a.user.ID, "ch-free", false, true},
		{"a in a, spent again", a.org.ID, a.user.ID, "ch-spent", true, true},
	}
	h := holdReads(s.subjects)
	free := occupy(t, s.subjects)
	spent, us, css, errs := make([]bool, len(cases)), make([]*auth.User, len(cases)), make([][]*auth.Credential, len(cases)), make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() { spent[i], us[i], css[i], errs[i] = s.LoginSubject(t.Context(), c.org, c.user, c.challenge) })
	}
	h.waitJoined(len(cases))
	free()
	wg.Wait()
	creds := map[string]string{a.user.ID: a.cred.UUID, b.user.ID: b.cred.UUID}
	for i, c := range cases {
		switch {
		case errs[i] != nil:
			t.Errorf("%s: %v", c.name, errs[i])
		case spent[i] != c.spent:
			t.Errorf("%s: spent %v, want %v", c.name, spent[i], c.spent)
		case !c.found && (us[i] != nil || css[i] != nil):
			t.Errorf("%s: got %+v %+v, want no user", c.name, us[i], css[i])
		case c.found && (us[i] == nil || us[i].ID != c.user || us[i].OrgID != c.org):
			t.Errorf("%s: got user %+v, want %s of %s", c.name, us[i], c.user, c.org)
		case c.found && (len(css[i]) != 1 || css[i][0].UUID != creds[c.user] || css[i][0].OrgID != c.org):
			t.Errorf("%s: credentials %+v, want %s", c.name, css[i], creds[c.user])
		}
	}
	if got := s.subjects.stats; got.batches != 1 || got.keys != int64(len(cases)-1) {
		t.Errorf("%d batches of %d keys, want 1 of %d", got.batches, got.keys, len(cases)-1)
	}
	if us[0] == us[5] || css[0][0] == css[5][0] {
		t.Error("two callers of one key share a User or a Credential")
	}
}

// TestLoginBatchSeesCommits: a caller that starts after a credential was
// deactivated (or the challenge spent) does not join the statement already
// in flight, whose snapshot may predate the commit: it is answered by a
// later one, and sees the credential inactive (the challenge spent).
func TestLoginBatchSeesCommits(t *testing.T) {
	s := openTest(t)
	a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
	ctx := t.Context()

	t.Run("UserWithCredentials", func(t *testing.T) {
		s.logins.inflight = 1
		h := holdReads(s.logins)
		free := occupy(t, s.logins)
		type answer struct {
			cs  []*auth.Credential
			err error
		}
		early := make(chan answer, 2)
		for _, f := range []fixture{a, b} {
			go func() { _, cs, err := s.UserWithCredentials(ctx, f.org.ID, f.user.Username); early <- answer{cs, err} }()
		}
		h.waitJoined(2)
		h.arm()
		free() // the batch of a and b is sent, read, and held before answering
		if n := <-h.held; n != 2 {
			t.Fatalf("held a statement of %d keys, want 2", n)
		}
		if err := s.SetCredentialActive(ctx, a.org.ID, a.user.ID, a.cred.UUID, false); err != nil {
			t.Fatal(err)
		}
		late := make(chan answer, 1)
		go func() { _, cs, err := s.UserWithCredentials(ctx, a.org.ID, a.user.Username); late <- answer{cs, err} }()
		h.waitJoined(1)
		h.release <- struct{}{}
		for range 2 {
			if e := <-early; e.err != nil || len(e.cs) != 1 || !e.cs[0].IsActive {
				t.Errorf("a caller before the deactivation: %+v, %v; want active", e.cs, e.err)
			}
		}
		if l := <-late; l.err != nil || len(l.cs) != 1 || l.cs[0].IsActive {
			t.Errorf("a caller after the deactivation committed: %+v, %v; want the credential inactive", l.cs, l.err)
		}
	})

	t.Run("LoginSubject", func(t *testing.T) {
		s.subjects.inflight = 1
		h := holdReads(s.subjects)
		free := occupy(t, s.subjects)
		type answer struct {
			spent bool
			err   error
		}
		early := make(chan answer, 2)
		for _, f := range []fixture{a, b} {
			go func() { sp, _, _, err := s.LoginSubject(ctx, f.org.ID, f.user.ID, "ch-late"); early <- answer{sp, err} }()
		}
		h.waitJoined(2)
		h.arm()
		free()
		if n := <-h.held; n != 2 {
			t.Fatalf("held a statement of %d keys, want 2", n)
		}
		if err := s.SpendChallenge(ctx, "ch-late", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		late := make(chan answer, 1)
		go func() { sp, _, _, err := s.LoginSubject(ctx, a.org.ID, a.user.ID, "ch-late"); late <- answer{sp, err} }()
		h.waitJoined(1)
		h.release <- struct{}{}
		for range 2 {
			if e := <-early; e.err != nil || e.spent {
				t.Errorf("a caller before the spend: %v, %v; want unspent", e.spent, e.err)
			}
		}
		if l := <-late; l.err != nil || !l.spent {
			t.Errorf("a caller after the spend committed: %v, %v; want spent", l.spent, l.err)
		}
	})
}

// TestLoginBatchStatements counts the statements pgx sends for concurrent
// login reads: callers gathered while the slot is taken share one
// statement, a lone caller sends its own round trip.
func TestLoginBatchStatements(t *testing.T) {
	s, trips := openTraced(t)
	a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
	hl, hs := holdReads(s.logins), holdReads(s.subjects)
	cases := loginCases(a, b)
	for _, callers := range []int{1, 16, 64} {
		t.Run(fmt.Sprintf("UserWithCredentials %d", callers), func(t *testing.T) {
			free := func() {}
			if callers > 1 {
				free = occupy(t, s.logins)
			}
			trips.n.Store(0)
			var wg sync.WaitGroup
			for i := range callers {
				c := cases[i%len(cases)]
				wg.Go(func() {
					u, cs, err := s.UserWithCredentials(t.Context(), c.org, c.username)
					checkLogin(t, c, u, cs, err)
				})
			}
			if callers > 1 {
				hl.waitJoined(callers)
				free()
			}
			wg.Wait()
			if got := trips.n.Load(); got != 1 {
				t.Errorf("%d callers: %d round trips, want 1", callers, got)
			}
		})
		t.Run(fmt.Sprintf("LoginSubject %d", callers), func(t *testing.T) {
			free := func() {}
			if callers > 1 {
				free = occupy(t, s.subjects)
			}
			trips.n.Store(0)
			var wg sync.WaitGroup
			for i := range callers {
				f := []fixture{a, b}[i%2]
				wg.Go(func() {
					_, u, _, err := s.LoginSubject(t.Context(), f.org.ID, f.user.ID, "ch-x")
					if err != nil || u == nil || u.ID != f.user.ID {
						t.Errorf("got %+v, %v; want %s", u, err, f.user.ID)
					}
				})
			}
			if callers > 1 {
				hs.waitJoined(callers)
				free()
			}
			wg.Wait()
			if got := trips.n.Load(); got != 1 {
				t.Errorf("%d callers: %d round trips, want 1", callers, got)
			}
		})
	}
}
