package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// testReadiness: the write probe commits (and again, over its own row),
// replicas do not collide, a fresh store has no pending migration, and a
// call whose deadline passed fails as unavailable (a 503, not a 500), for
// the probe and for the calls of a signed request.
func testReadiness(t *testing.T, s auth.Store) {
	for _, replica := range []string{"r1", "r1", "r2"} {
		check(t, "ProbeWrite "+replica, s.ProbeWrite(t.Context(), replica, at(time.Second)), nil)
	}
	pending, err := s.PendingMigrations(t.Context())
	check(t, "PendingMigrations", err, nil)
	if len(pending) != 0 {
		t.Errorf("a freshly opened store has pending migrations %v", pending)
	}

	n := mustOrg(t, s, "a")
	a := newAction(n.User.OrgID, n.User.ID, "uj-1", at(time.Hour))
	check(t, "CreateAction", s.CreateAction(t.Context(), a), nil)
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"ProbeWrite", func() error { return s.ProbeWrite(ctx, "r1", at(0)) }},
		{"Principal", func() error { _, err := s.Principal(ctx, n.User.OrgID, "to-none"); return err }},
		{"UseAction", func() error { _, err := s.UseAction(ctx, a.TokenHash, at(0)); return err }},
		{"SpendChallenge", func() error { return s.SpendChallenge(ctx, "ch-1", at(time.Hour)) }},
	} {
		err := c.call()
		if !errors.Is(err, context.DeadlineExceeded) || !auth.IsUnavailable(err) {
			t.Errorf("%s past its deadline: error = %v, want context.DeadlineExceeded, unavailable", c.name, err)
		}
	}
	// The action was not spent by the call that ran out of time.
	if _, err := s.UseAction(t.Context(), a.TokenHash, at(0)); err != nil {
		t.Errorf("action spent by a call past its deadline: %v", err)
	}
}

// testActionRead: Action returns an action of its org as stored, used or
// not, and ErrNotFound for another org or an unknown id.
func testActionRead(t *testing.T, s auth.Store) {
	n := mustOrg(t, s, "a")
	other := mustOrg(t, s, "b")
	a := newAction(n.User.OrgID, n.User.ID, "uj-1", at(time.Hour))
	check(t, "CreateAction", s.CreateAction(t.Context(), a), nil)

	got, err := s.Action(t.Context(), n.User.OrgID, "uj-1")
	check(t, "Action", err, nil)
	diff(t, "Action", got, a)

	used, err := s.UseAction(t.Context(), a.TokenHash, at(time.Minute))
	check(t, "UseAction", err, nil)
	got, err = s.Action(t.Context(), n.User.OrgID, "uj-1")
	check(t, "Action after use", err, nil)
	diff(t, "Action after use", got, used)
	if got.UsedAt == nil || !got.UsedAt.Equal(at(time.Minute)) {
		t.Errorf("UsedAt = %v, want %v", got.UsedAt, at(time.Minute))
	}

	_, err = s.Action(t.Context(), other.User.OrgID, "uj-1")
	check(t, "Action of another org", err, auth.ErrNotFound)
	_, err = s.Action(t.Context(), n.User.OrgID, "uj-none")
	check(t, "unknown Action", err, auth.ErrNotFound)
}
