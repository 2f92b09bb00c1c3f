package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

func newOIDCProvider(orgID, id, clientID string) *auth.OIDCProvider {
	return &auth.OIDCProvider{ID: id, OrgID: orgID, Issuer: "https://idp.example.com",
		ClientID: clientID, SealedSecret: "sealed-" + id, CreatedAt: at(0)}
}

// testOIDCProviders pins the OIDCProviderStore: providers are listed per
// org by id, a client id is unique within an org (not across orgs), a
// missing org is ErrNotFound, deleting is scoped to the org.
func testOIDCProviders(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a").Org.ID
	b := mustOrg(t, s, "b").Org.ID

	got, err := s.OIDCProviders(ctx, a)
	check(t, "OIDCProviders empty", err, nil)
	diff(t, "OIDCProviders empty", got, []*auth.OIDCProvider{})

	p2 := newOIDCProvider(a, "op-2", "client-2")
	p1 := newOIDCProvider(a, "op-1", "client-1")
	p1.SealedSecret = ""
	check(t, "Create p2", s.CreateOIDCProvider(ctx, p2), nil)
	check(t, "Create p1", s.CreateOIDCProvider(ctx, p1), nil)
	check(t, "Create same client id", s.CreateOIDCProvider(ctx, newOIDCProvider(a, "op-3", "client-1")), auth.ErrDuplicate)
	check(t, "Create same id", s.CreateOIDCProvider(ctx, newOIDCProvider(a, "op-1", "client-9")), auth.ErrDuplicate)
	check(t, "Create in other org", s.CreateOIDCProvider(ctx, newOIDCProvider(b, "op-4", "client-1")), nil)
	check(t, "Create missing org", s.CreateOIDCProvider(ctx, newOIDCProvider("or-missing", "op-5", "c")), auth.ErrNotFound)

	got, err = s.OIDCProviders(ctx, a)
	check(t, "OIDCProviders", err, nil)
	diff(t, "OIDCProviders", got, []*auth.OIDCProvider{p1, p2})
	for _, p := range got {
		if p.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt in %v, want UTC", p.CreatedAt.Location())
		}
	}

	check(t, "Delete other org's", s.DeleteOIDCProvider(ctx, b, "op-1"), auth.ErrNotFound)
	check(t, "Delete missing", s.DeleteOIDCProvider(ctx, a, "op-9"), auth.ErrNotFound)
	check(t, "Delete", s.DeleteOIDCProvider(ctx, a, "op-1"), nil)
	check(t, "Delete again", s.DeleteOIDCProvider(ctx, a, "op-1"), auth.ErrNotFound)
	got, err = s.OIDCProviders(ctx, a)
	check(t, "OIDCProviders after delete", err, nil)
	diff(t, "OIDCProviders after delete", got, []*auth.OIDCProvider{p2})
	got, err = s.OIDCProviders(ctx, b)
	check(t, "OIDCProviders other org", err, nil)
	if len(got) != 1 || got[0].ID != "op-4" {
		t.Fatalf("org b providers = %v, want op-4 only", got)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	check(t, "Create canceled", s.CreateOIDCProvider(canceled, newOIDCProvider(a, "op-6", "c6")), context.Canceled)
	_, err = s.OIDCProviders(canceled, a)
	check(t, "OIDCProviders canceled", err, context.Canceled)
	check(t, "Delete canceled", s.DeleteOIDCProvider(canceled, a, "op-2"), context.Canceled)
}
