package storetest

import (
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

func testUseAction(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	a := newAction(u.OrgID, u.ID, "uj-1", at(time.Minute))
	b := newAction(u.OrgID, u.ID, "uj-2", at(time.Minute))
	b.PayloadHash = nil
	b.Query = "x=1"
	for _, x := range []*auth.Action{a, b} {
		check(t, "CreateAction "+x.ID, s.CreateAction(ctx, x), nil)
	}

	now := at(time.Second + 3*time.Millisecond)
	got, err := s.UseAction(ctx, a.TokenHash, now)
	check(t, "UseAction", err, nil)
	want := *a
	want.UsedAt = &now
	diff(t, "UseAction", got, &want)
	if got.UsedAt != nil {
		inUTC(t, "Action.UsedAt", *got.UsedAt)
	}

	_, err = s.UseAction(ctx, a.TokenHash, now.Add(time.Second))
	check(t, "UseAction again", err, auth.ErrUsed)
	_, err = s.UseAction(ctx, a.TokenHash, now)
	check(t, "UseAction again at the same time", err, auth.ErrUsed)

	// The other action is still unused.
	got, err = s.UseAction(ctx, b.TokenHash, now)
	check(t, "UseAction(b)", err, nil)
	want = *b
	want.UsedAt = &now
	diff(t, "UseAction(b)", got, &want)
}

func testUseActionErrors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)

	tests := []struct {
		name   string
		exp    time.Time // zero: not created
		usedAt time.Time // zero: not used before
		hash   func(h []byte) []byte
		want   error
	}{
		{name: "unknown hash", want: auth.ErrNotFound},
		{name: "expired", exp: now.Add(-time.Millisecond), want: auth.ErrNotFound},
		{name: "expires now", exp: now, want: auth.ErrNotFound},
		{name: "used", exp: now.Add(time.Minute), usedAt: now.Add(-time.Second), want: auth.ErrUsed},
		{name: "used and since expired", exp: now.Add(-time.Millisecond), usedAt: now.Add(-time.Second), want: auth.ErrNotFound},
		{name: "prefix of the hash", exp: now.Add(time.Minute), hash: func(h []byte) []byte { return h[:len(h)-1] }, want: auth.ErrNotFound},
		{name: "empty hash", exp: now.Add(time.Minute), hash: func([]byte) []byte { return []byte{} }, want: auth.ErrNotFound},
		{name: "nil hash", exp: now.Add(time.Minute), hash: func([]byte) []byte { return nil }, want: auth.ErrNotFound},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAction(u.OrgID, u.ID, "uj-"+string(rune('a'+i)), tt.exp)
			if !tt.exp.IsZero() {
				check(t, "CreateAction", s.CreateAction(ctx, a), nil)
			}
			if !tt.usedAt.IsZero() {
				_, err := s.UseAction(ctx, a.TokenHash, tt.usedAt)
				check(t, "first UseAction", err, nil)
			}
			hash := a.TokenHash
			if tt.hash != nil {
				hash = tt.hash(hash)
			}
			_, err := s.UseAction(ctx, hash, now)
			check(t, "UseAction", err, tt.want)
		})
	}
}

func testCreateActionErrors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	u := a.User
	existing := newAction(u.OrgID, u.ID, "uj-1", at(time.Minute))
	check(t, "CreateAction", s.CreateAction(ctx, existing), nil)

	dupHash := newAction(u.OrgID, u.ID, "uj-2", at(time.Hour))
	dupHash.TokenHash = existing.TokenHash
	dupID := newAction(u.OrgID, u.ID, existing.ID, at(time.Hour))
	tests := []struct {
		name   string
		action *auth.Action
		want   error
	}{
		{"duplicate token hash", dupHash, auth.ErrDuplicate},
		{"duplicate id", dupID, auth.ErrDuplicate},
		{"user of another org", newAction(b.Org.ID, u.ID, "uj-3", at(time.Minute)), auth.ErrNotFound},
		{"unknown user", newAction(u.OrgID, "us-missing", "uj-4", at(time.Minute)), auth.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "CreateAction", s.CreateAction(ctx, tt.action), tt.want)
			if tt.action.ID != existing.ID && string(tt.action.TokenHash) != string(existing.TokenHash) {
				_, err := s.UseAction(ctx, tt.action.TokenHash, at(0))
				check(t, "UseAction after failed CreateAction", err, auth.ErrNotFound)
			}
		})
	}
	got, err := s.UseAction(ctx, existing.TokenHash, at(0))
	check(t, "UseAction(existing)", err, nil)
	if got.ID != existing.ID || !got.ExpiresAt.Equal(existing.ExpiresAt) {
		t.Errorf("UseAction(existing) = %s expiring %v, want %s expiring %v", got.ID, got.ExpiresAt, existing.ID, existing.ExpiresAt)
	}
}

func testUseActionConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	a := newAction(n.Org.ID, n.User.ID, "uj-1", at(time.Minute))
	check(t, "CreateAction", s.CreateAction(ctx, a), nil)
	errs := concurrently(50, func(int) error {
		got, err := s.UseAction(ctx, a.TokenHash, at(0))
		if err == nil && got.ID != a.ID {
			t.Errorf("UseAction returned %q, want %q", got.ID, a.ID)
		}
		return err
	})
	tally(t, errs, auth.ErrUsed)
}

// testSweep: Sweep removes expired actions, used or not, the records of
// challenges spent and expired for longer than SpentChallengeGrace, and
// nothing else.
func testSweep(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	c := mustCred(t, s, u.OrgID, u.ID, "", "cr-1")
	mustToken(t, s, u.OrgID, u.ID, "to-1", token.KindLogin, c.UUID)
	expired := newToken(u.OrgID, u.ID, "to-expired", token.KindLogin, c.UUID)
	expired.ExpiresAt = at(-time.Hour) // expired token records are not Sweep's
	check(t, "CreateAccessToken(expired)", s.CreateAccessToken(ctx, expired), nil)
	now := at(time.Hour)

	// A spent challenge's record is kept until SpentChallengeGrace after
	// its expiry.
	grace := auth.SpentChallengeGrace
	challenges := []struct {
		id      string
		exp     time.Time
		expired bool
	}{
		{"ch-old", now.Add(-24 * time.Hour), true},
		{"ch-grace-over", now.Add(-grace), true},
		{"ch-in-grace", now.Add(-grace + time.Millisecond), false},
		{"ch-just", now.Add(-time.Millisecond), false},
		{"ch-live", now.Add(time.Hour), false},
	}
	actions := []struct {
		id      string
		exp     time.Time
		used    bool
		expired bool
	}{
		{"uj-old", now.Add(-24 * time.Hour), false, true},
		{"uj-old-used", now.Add(-time.Millisecond), true, true},
		{"uj-now", now, false, true},
		{"uj-live", now.Add(time.Minute), false, false},
		{"uj-live-used", now.Add(time.Minute), true, false},
	}
	var want int64
	for _, ch := range challenges {
		check(t, "SpendChallenge "+ch.id, s.SpendChallenge(ctx, ch.id, ch.exp), nil)
		if ch.expired {
			want++
		}
	}
	for _, ac := range actions {
		a := newAction(u.OrgID, u.ID, ac.id, ac.exp)
		check(t, "CreateAction "+ac.id, s.CreateAction(ctx, a), nil)
		if ac.used {
			_, err := s.UseAction(ctx, a.TokenHash, ac.exp.Add(-time.Hour))
			check(t, "UseAction "+ac.id, err, nil)
		}
		if ac.expired {
			want++
		}
	}

	got, err := s.Sweep(ctx, now)
	check(t, "Sweep", err, nil)
	if got != want {
		t.Errorf("Sweep = %d, want %d", got, want)
	}
	got, err = s.Sweep(ctx, now)
	check(t, "Sweep again", err, nil)
	if got != 0 {
		t.Errorf("second Sweep = %d, want 0", got)
	}

	// What Sweep removed is gone even for a clock that runs behind; what it
	// kept is intact.
	early := at(-48 * time.Hour)
	for _, ch := range challenges {
		err := s.SpendChallenge(ctx, ch.id, ch.exp)
		if ch.expired {
			check(t, "SpendChallenge(swept "+ch.id+")", err, nil)
		} else {
			check(t, "SpendChallenge(kept "+ch.id+")", err, auth.ErrUsed)
		}
	}
	for _, ac := range actions {
		_, err := s.UseAction(ctx, []byte("hash-"+ac.id), early)
		switch {
		case ac.expired:
			check(t, "UseAction(swept "+ac.id+")", err, auth.ErrNotFound)
		case ac.used:
			check(t, "UseAction(kept, used "+ac.id+")", err, auth.ErrUsed)
		default:
			check(t, "UseAction(kept "+ac.id+")", err, nil)
		}
	}

	// Nothing else was touched.
	for _, id := range []string{"to-1", "to-expired"} {
		if _, err := s.Principal(ctx, u.OrgID, id); err != nil {
			t.Errorf("Principal(%s) after Sweep: %v", id, err)
		}
	}
	if _, err := s.CredentialByUUID(ctx, u.OrgID, c.UUID); err != nil {
		t.Errorf("CredentialByUUID after Sweep: %v", err)
	}
	// The admin's registration code expires at now: Sweep leaves it alone.
	if _, err := s.ConsumeRegistrationCode(ctx, u.ID, n.Code.Hash); err != nil {
		t.Errorf("ConsumeRegistrationCode after Sweep: %v", err)
	}
}
