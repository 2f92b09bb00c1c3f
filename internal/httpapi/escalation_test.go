package httpapi_test

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// refused reports whether r is the escalation rule's refusal naming every
// operation of lacking.
func refused(r resp, lacking ...string) bool {
	if r.status != 403 || !strings.Contains(r.errMsg(), "needs operations the caller does not hold (") {
		return false
	}
	for _, op := range lacking {
		if !strings.Contains(r.errMsg(), op) {
			return false
		}
	}
	return true
}

// adminPermission returns the id of the org's ManagedFullAdminAccess.
func (e *env) adminPermission(admin *user) string {
	e.t.Helper()
	as, err := e.store.Assignments(context.Background(), admin.orgID, admin.userID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range as {
		if a.Permission.Name == auth.FullAdminPermission && a.Permission.IsImmutable {
			return a.Permission.ID
		}
	}
	e.t.Fatal("no admin permission")
	return ""
}

// grant makes, as admin, a permission of ops and assigns it to identityID.
func (e *env) grant(admin *user, identityID string, ops ...string) string {
	e.t.Helper()
	pm := e.createPermission(admin, "grant "+rand.Text()[:8], ops...)
	e.assign(admin, pm, identityID)
	return pm
}

// member invites a user and grants it ops.
func (e *env) member(admin *user, ops ...string) *user {
	e.t.Helper()
	u := e.invite(admin, "u-"+strings.ToLower(rand.Text()[:8])+"@example.com")
	if len(ops) > 0 {
		e.grant(admin, u.userID, ops...)
	}
	return u
}

// storedOps returns what identityID holds in the store, sorted (a full
// admin: "ALL").
func (e *env) storedOps(orgID, identityID string) []string {
	e.t.Helper()
	as, err := e.store.Assignments(context.Background(), orgID, identityID)
	if err != nil {
		e.t.Fatal(err)
	}
	var ops []string
	for _, a := range as {
		if a.Permission.IsArchived {
			continue
		}
		if a.Permission.Name == auth.FullAdminPermission && a.Permission.IsImmutable {
			return []string{"ALL"}
		}
		ops = append(ops, a.Permission.Operations...)
	}
	slices.Sort(ops)
	return slices.Compact(ops)
}

// caller is one way an attacker can present itself: a user's session, its
// unrestricted PAT, or a service account holding the same operations.
type caller struct {
	kind, id, token string
	signer          *keySigner
	perm            string // the permission that gives it ops (a PAT: its restriction)
}

func (e *env) sign(c caller, method, path string, body any) resp {
	e.t.Helper()
	return e.signedAs(c.token, c.signer, method, path, body)
}

// attackers returns, for ops, a user session, that user's PAT and a
// service account, each holding exactly ops.
func (e *env) attackers(admin *user, ops ...string) []caller {
	e.t.Helper()
	u := e.invite(admin, "u-"+strings.ToLower(rand.Text()[:8])+"@example.com")
	userPerm := e.grant(admin, u.userID, append(slices.Clone(ops), "Auth:Pats:Create")...)
	restriction := e.createPermission(admin, "pat "+rand.Text()[:8], ops...)
	pat := e.createPAT(u, "pat", restriction)
	sa := e.createServiceAccount(admin, "sa-"+rand.Text()[:8], "")
	saPerm := e.grant(admin, sa.id, ops...)
	return []caller{
		{"user", u.userID, u.token, u.signer, userPerm},
		{"PAT", u.userID, pat.token, pat.signer, restriction},
		{"service account", sa.id, sa.token, sa.signer, saPerm},
	}
}

// TestEscalationAttacks replays the three ways in of issue 9, for every
// kind of caller, and proves each refused with nothing written.
func TestEscalationAttacks(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		adminPerm := e.adminPermission(admin)

		t.Run("through a service account", func(t *testing.T) {
			u := e.member(admin, "Permissions:Create", "Permissions:Assign", "Auth:ServiceAccounts:Create")
			before := e.storedOps(admin.orgID, u.userID)
			// What it holds it may pass on...
			r := e.signed(u, "POST", "/permissions", mustJSON(map[string]any{"name": "assign", "operations": []string{"Permissions:Assign"}}))
			if r.status != 200 {
				t.Fatalf("create held permission: %d %s", r.status, r.raw)
			}
			sa := e.createServiceAccount(u, "helper", r.str("id"))
			// ...but the service account holds Permissions:Assign only, so
			// it cannot hand out ManagedFullAdminAccess.
			r = e.signedAs(sa.token, sa.signer, "POST", "/permissions/"+adminPerm+"/assignments", map[string]string{"identityId": u.userID})
			if !refused(r, "Auth:Users:Deactivate", "Permissions:Update") {
				t.Fatalf("SA assigns admin to its creator: %d %s", r.status, r.raw)
			}
			// Nor can the user itself, nor can it make a wider permission.
			if r := e.signed(u, "POST", "/permissions/"+adminPerm+"/assignments", mustJSON(map[string]string{"identityId": sa.id})); !refused(r) {
				t.Fatalf("user assigns admin to its SA: %d %s", r.status, r.raw)
			}
			r = e.signed(u, "POST", "/permissions", mustJSON(map[string]any{"name": "wide", "operations": []string{"Permissions:Assign", "Auth:Users:Deactivate"}}))
			if !refused(r, "Auth:Users:Deactivate") || strings.Contains(r.errMsg(), "Permissions:Assign") {
				t.Fatalf("create wider permission: %d %s", r.status, r.raw)
			}
			if got := e.storedOps(admin.orgID, u.userID); !slices.Equal(got, before) {
				t.Fatalf("user's operations changed: %v, was %v", got, before)
			}
			if got := e.storedOps(admin.orgID, sa.id); !slices.Equal(got, []string{"Permissions:Assign"}) {
				t.Fatalf("SA's operations: %v", got)
			}
			// The org's first admin is still active.
			if r := e.do("GET", "/auth/users/"+admin.userID, admin.token, nil); r.status != 200 || r.body["isActive"] != true {
				t.Fatalf("admin: %d %s", r.status, r.raw)
			}
		})

		t.Run("by widening a held permission", func(t *testing.T) {
			held := []string{"Permissions:Update", "Permissions:Read"}
			for _, c := range e.attackers(admin, held...) {
				pm := c.perm
				r := e.sign(c, "PUT", "/permissions/"+pm, map[string]any{"operations": append(slices.Clone(held), "Auth:Users:Deactivate")})
				if !refused(r, "Auth:Users:Deactivate") {
					t.Errorf("%s widens its permission: %d %s", c.kind, r.status, r.raw)
				}
				// Narrowing what it holds itself stays possible.
				if r := e.sign(c, "PUT", "/permissions/"+pm, map[string]any{"name": "renamed " + rand.Text()[:6]}); r.status != 200 {
					t.Errorf("%s renames its permission: %d %s", c.kind, r.status, r.raw)
				}
				if got := e.storedOps(admin.orgID, c.id); slices.Contains(got, "Auth:Users:Deactivate") {
					t.Errorf("%s gained: %v", c.kind, got)
				}
			}
		})

		t.Run("by a restricted PAT widening its restriction", func(t *testing.T) {
			// The user holds Auth:Users:Read; its PAT is restricted to a
			// permission without it, and may update that permission.
			u := e.member(admin, "Permissions:Update", "Permissions:Read", "Auth:Pats:Create", "Auth:Users:Read")
			restriction := e.createPermission(admin, "restriction "+rand.Text()[:6], "Permissions:Update", "Permissions:Read")
			pat := e.createPAT(u, "narrow", restriction)
			for _, add := range []string{"Auth:Users:Read", "Auth:Users:Deactivate"} {
				r := e.signedAs(pat.token, pat.signer, "PUT", "/permissions/"+restriction,
					map[string]any{"operations": []string{"Permissions:Update", "Permissions:Read", add}})
				if !refused(r, add) {
					t.Errorf("PAT adds %s to its restriction: %d %s", add, r.status, r.raw)
				}
			}
			if r := e.do("GET", "/auth/users/"+u.userID, pat.token, nil); r.status != 403 {
				t.Fatalf("PAT reads users: %d %s", r.status, r.raw)
			}
			// Its user may not add what it lacks either...
			r := e.signed(u, "PUT", "/permissions/"+restriction, mustJSON(map[string]any{"operations": []string{"Permissions:Read", "Auth:Users:Deactivate"}}))
			if !refused(r, "Auth:Users:Deactivate") {
				t.Errorf("user widens its PAT beyond itself: %d %s", r.status, r.raw)
			}
			r = e.do("GET", "/permissions/"+restriction, admin.token, nil)
			if ops := r.body["operations"].([]any); len(ops) != 2 {
				t.Fatalf("restriction changed: %s", r.raw)
			}
			// ...and the PAT keeps following edits by an admin (item 3).
			if r := e.signed(admin, "PUT", "/permissions/"+restriction, mustJSON(map[string]any{"operations": []string{"Permissions:Read", "Auth:Users:Read"}})); r.status != 200 {
				t.Fatalf("admin edits restriction: %d %s", r.status, r.raw)
			}
			if r := e.do("GET", "/auth/users/"+u.userID, pat.token, nil); r.status != 200 {
				t.Fatalf("PAT after admin edit: %d %s", r.status, r.raw)
			}
		})

		t.Run("every grant path, every caller", func(t *testing.T) {
			wide := e.createPermission(admin, "wide "+rand.Text()[:6], "Auth:Users:Deactivate", "Permissions:Read")
			archived := e.createPermission(admin, "archived "+rand.Text()[:6], "Auth:Users:Delete")
			if r := e.signed(admin, "PUT", "/permissions/"+archived+"/archive", `{"isArchived":true}`); r.status != 200 {
				t.Fatalf("archive: %d %s", r.status, r.raw)
			}
			target := e.member(admin)
			count := func() (n int) { // users, service accounts, PATs and permissions of the org
				for _, sa := range []bool{false, true} {
					us, err := e.store.ListUsers(context.Background(), admin.orgID, auth.UserQuery{ServiceAccounts: sa, Limit: 1000})
					if err != nil {
						t.Fatal(err)
					}
					for _, u := range us {
						ts, err := e.store.AccessTokens(context.Background(), admin.orgID, u.ID, token.KindPAT)
						if err != nil {
							t.Fatal(err)
						}
						n += 1 + len(ts)
					}
				}
				ps, err := e.store.ListPermissions(context.Background(), admin.orgID, auth.PageQuery{Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				return n + len(ps)
			}
			ops := []string{"Permissions:Create", "Permissions:Assign", "Permissions:Archive", "Permissions:Read",
				"Auth:ServiceAccounts:Create", "Auth:Pats:Create"}
			for _, c := range e.attackers(admin, ops...) {
				k := newKeySigner(t, "ES256")
				before := count()
				cases := []struct {
					name, method, path string
					body               any
					lacking            string
					kinds              string // "" = every kind
				}{
					{"create", "POST", "/permissions", map[string]any{"name": "x " + rand.Text()[:6], "operations": []string{"Auth:Users:Delete"}}, "Auth:Users:Delete", ""},
					{"assign to another", "POST", "/permissions/" + wide + "/assignments", map[string]string{"identityId": target.userID}, "Auth:Users:Deactivate", ""},
					{"assign admin", "POST", "/permissions/" + adminPerm + "/assignments", map[string]string{"identityId": target.userID}, "Orgs:Update", ""},
					{"unarchive", "PUT", "/permissions/" + archived + "/archive", map[string]bool{"isArchived": false}, "Auth:Users:Delete", ""},
					{"archive", "PUT", "/permissions/" + wide + "/archive", map[string]bool{"isArchived": true}, "Auth:Users:Deactivate", ""},
					// A PAT creates neither service accounts nor PATs, a
					// service account no PATs: other rules, other answers.
					{"service account", "POST", "/auth/service-accounts", map[string]string{"name": "sa " + rand.Text()[:6], "publicKey": k.pem, "permissionId": wide}, "Auth:Users:Deactivate", "user service account"},
					{"PAT", "POST", "/auth/pats", map[string]string{"name": "p " + rand.Text()[:6], "publicKey": k.pem, "permissionId": wide}, "Auth:Users:Deactivate", "user"},
				}
				for _, tc := range cases {
					if tc.kinds != "" && !strings.Contains(tc.kinds, c.kind) {
						continue
					}
					if r := e.sign(c, tc.method, tc.path, tc.body); !refused(r, tc.lacking) {
						t.Errorf("%s, %s: %d %s", c.kind, tc.name, r.status, r.raw)
					}
				}
				if after := count(); after != before {
					t.Errorf("%s: refused calls created something: %d identities, tokens and permissions, were %d", c.kind, after, before)
				}
			}
			if got := e.storedOps(admin.orgID, target.userID); len(got) != 0 {
				t.Fatalf("target gained %v", got)
			}
			r := e.do("GET", "/permissions/"+archived, admin.token, nil)
			if r.body["isArchived"] != true {
				t.Fatalf("archived permission came back: %s", r.raw)
			}
			if r := e.do("GET", "/permissions/"+wide, admin.token, nil); r.body["isArchived"] != false {
				t.Fatalf("wide permission archived: %s", r.raw)
			}
			// Bad input keeps its own answers.
			c := e.attackers(admin, ops...)[0]
			for _, tc := range []struct {
				name, method, path string
				body               any
				status             int
			}{
				{"unknown operation", "POST", "/permissions", map[string]any{"name": "n", "operations": []string{"Auth:Nope"}}, 400},
				{"assign archived", "POST", "/permissions/" + archived + "/assignments", map[string]string{"identityId": target.userID}, 400},
				{"assign unknown", "POST", "/permissions/pm-zzzzz-zzzzz-zzzzzzzzzzzzzzzz/assignments", map[string]string{"identityId": target.userID}, 404},
				{"assign to unknown identity", "POST", "/permissions/" + wide + "/assignments", map[string]string{"identityId": "us-zzzzz-zzzzz-zzzzzzzzzzzzzzzz"}, 404},
			} {
				if r := e.sign(c, tc.method, tc.path, tc.body); r.status != tc.status {
					t.Errorf("%s: %d %s", tc.name, r.status, r.raw)
				}
			}
		})

		t.Run("admins keep working", func(t *testing.T) {
			u := e.member(admin)
			pm := e.createPermission(admin, "all "+rand.Text()[:6], auth.AllOperations()...)
			e.assign(admin, pm, u.userID)
			e.assign(admin, adminPerm, u.userID)
			if r := e.signed(u, "PUT", "/permissions/"+pm+"/archive", `{"isArchived":true}`); r.status != 200 {
				t.Fatalf("second admin archives: %d %s", r.status, r.raw)
			}
		})
	})
}

// TestNoLockoutFromBelow proves that nobody deactivates, archives,
// reactivates or strips an identity holding more than they do, and that
// the org keeps an active full admin with a usable credential.
func TestNoLockoutFromBelow(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		adminPerm := e.adminPermission(admin)
		manage := []string{"Auth:Users:Deactivate", "Auth:Users:Activate", "Auth:Users:Delete", "Permissions:Revoke",
			"Auth:ServiceAccounts:Deactivate", "Auth:ServiceAccounts:Activate", "Auth:ServiceAccounts:Delete"}
		victim := e.member(admin, "Orgs:Read")
		victimPerm := e.createPermission(admin, "victim extra "+rand.Text()[:6], "Orgs:Read")
		victimAsg := e.assign(admin, victimPerm, victim.userID)
		bot := e.createServiceAccount(admin, "bot", "")
		e.grant(admin, bot.id, "Orgs:Settings:Read")
		secondAdmin := e.member(admin)
		secondAsg := e.assign(admin, adminPerm, secondAdmin.userID)

		for _, c := range e.attackers(admin, manage...) {
			for _, tc := range []struct{ name, method, path, lacking string }{
				{"deactivate admin", "PUT", "/auth/users/" + admin.userID + "/deactivate", "Orgs:Update"},
				{"archive admin", "DELETE", "/auth/users/" + admin.userID, "Orgs:Update"},
				{"deactivate user", "PUT", "/auth/users/" + victim.userID + "/deactivate", "Orgs:Read"},
				{"activate user", "PUT", "/auth/users/" + victim.userID + "/activate", "Orgs:Read"},
				{"archive user", "DELETE", "/auth/users/" + victim.userID, "Orgs:Read"},
				{"revoke from user", "DELETE", "/permissions/" + victimPerm + "/assignments/" + victimAsg, "Orgs:Read"},
				{"revoke admin", "DELETE", "/permissions/" + adminPerm + "/assignments/" + secondAsg, "Orgs:Update"},
				{"deactivate SA", "PUT", "/auth/service-accounts/" + bot.id + "/deactivate", "Orgs:Settings:Read"},
				{"activate SA", "PUT", "/auth/service-accounts/" + bot.id + "/activate", "Orgs:Settings:Read"},
				{"archive SA", "DELETE", "/auth/service-accounts/" + bot.id, "Orgs:Settings:Read"},
			} {
				if r := e.sign(c, tc.method, tc.path, "{}"); !refused(r, tc.lacking) {
					t.Errorf("%s, %s: %d %s", c.kind, tc.name, r.status, r.raw)
				}
			}
		}
		for _, id := range []string{admin.userID, victim.userID, bot.id, secondAdmin.userID} {
			u, err := e.store.User(context.Background(), admin.orgID, id)
			if err != nil || !u.IsActive || u.IsArchived {
				t.Fatalf("%s after refused calls: %+v %v", id, u, err)
			}
		}
		if got := e.storedOps(admin.orgID, victim.userID); !slices.Equal(got, []string{"Orgs:Read"}) {
			t.Fatalf("victim: %v", got)
		}
		if got := e.storedOps(admin.orgID, secondAdmin.userID); !slices.Equal(got, []string{"ALL"}) {
			t.Fatalf("second admin: %v", got)
		}

		// Someone holding at least the victim's operations may act.
		peer := e.member(admin, append(manage, "Orgs:Read")...)
		if r := e.signed(peer, "PUT", "/auth/users/"+victim.userID+"/deactivate", "{}"); r.status != 200 {
			t.Fatalf("peer deactivates: %d %s", r.status, r.raw)
		}
		if r := e.signed(peer, "PUT", "/auth/users/"+victim.userID+"/activate", "{}"); r.status != 200 {
			t.Fatalf("peer activates: %d %s", r.status, r.raw)
		}

		// The last active full admin. A holder of every operation through
		// an ordinary permission covers an admin, so only the last-admin
		// rule stands between it and the org's lockout.
		all := e.member(admin)
		e.grant(admin, all.userID, auth.AllOperations()...)
		if r := e.signed(admin, "DELETE", "/permissions/"+adminPerm+"/assignments/"+secondAsg, "{}"); r.status != 204 {
			t.Fatalf("revoke second admin: %d %s", r.status, r.raw)
		}
		for _, tc := range []struct{ method, path string }{
			{"PUT", "/auth/users/" + admin.userID + "/deactivate"},
			{"DELETE", "/auth/users/" + admin.userID},
		} {
			if r := e.signed(all, tc.method, tc.path, "{}"); r.status != 409 || !strings.Contains(r.errMsg(), "last active holder of ManagedFullAdminAccess") {
				t.Errorf("%s %s of the last admin: %d %s", tc.method, tc.path, r.status, r.raw)
			}
		}
		// Its last credential stays active; another one may go.
		if r := e.signed(admin, "PUT", "/auth/credentials/deactivate", mustJSON(map[string]string{"credentialUuid": admin.credUUID})); r.status != 409 {
			t.Fatalf("last admin's last credential: %d %s", r.status, r.raw)
		}
		k2 := newKeySigner(t, "EdDSA")
		uuid2 := e.addKey(admin, k2)
		if r := e.signed(admin, "PUT", "/auth/credentials/deactivate", mustJSON(map[string]string{"credentialUuid": uuid2})); r.status != 200 && r.status != 204 {
			t.Fatalf("second credential: %d %s", r.status, r.raw)
		}
		if r := e.signed(admin, "PUT", "/auth/credentials/deactivate", mustJSON(map[string]string{"credentialUuid": admin.credUUID})); r.status != 409 {
			t.Fatalf("last admin's last credential again: %d %s", r.status, r.raw)
		}
		// A service account holding ManagedFullAdminAccess is another
		// admin: then the first may be deactivated.
		saAdmin := e.createServiceAccount(admin, "admin-bot", adminPerm)
		if r := e.signed(all, "PUT", "/auth/users/"+admin.userID+"/deactivate", "{}"); r.status != 200 {
			t.Fatalf("deactivate with another admin: %d %s", r.status, r.raw)
		}
		// Now the service account is the last one.
		if r := e.signed(all, "PUT", "/auth/service-accounts/"+saAdmin.id+"/deactivate", "{}"); r.status != 409 {
			t.Fatalf("deactivate last admin SA: %d %s", r.status, r.raw)
		}
		if r := e.signed(all, "DELETE", "/auth/service-accounts/"+saAdmin.id, "{}"); r.status != 409 {
			t.Fatalf("archive last admin SA: %d %s", r.status, r.raw)
		}
		if r := e.signed(all, "PUT", "/auth/users/"+admin.userID+"/activate", "{}"); r.status != 200 {
			t.Fatalf("reactivate admin: %d %s", r.status, r.raw)
		}
	})
}

// TestEscalationReadsCurrentAuthority proves the rule judges authority as
// it is when the write is decided, not as the operations cache or the
// caller's token last saw it.
func TestEscalationReadsCurrentAuthority(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		u := e.member(admin, "Permissions:Create")
		extra := e.createPermission(admin, "extra", "Orgs:Read")
		asg := e.assign(admin, extra, u.userID)
		body := func(n string) string {
			return mustJSON(map[string]any{"name": n, "operations": []string{"Orgs:Read"}})
		}
		if r := e.signed(u, "POST", "/permissions", body("first")); r.status != 200 {
			t.Fatalf("while held: %d %s", r.status, r.raw)
		}
		if r := e.signed(admin, "DELETE", "/permissions/"+extra+"/assignments/"+asg, "{}"); r.status != 204 {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		if r := e.signed(u, "POST", "/permissions", body("second")); !refused(r, "Orgs:Read") {
			t.Fatalf("after revocation: %d %s", r.status, r.raw)
		}
		// An archived permission grants nothing to grant with either.
		e.assign(admin, extra, u.userID)
		if r := e.signed(admin, "PUT", "/permissions/"+extra+"/archive", `{"isArchived":true}`); r.status != 200 {
			t.Fatalf("archive: %d %s", r.status, r.raw)
		}
		if r := e.signed(u, "POST", "/permissions", body("third")); !refused(r, "Orgs:Read") {
			t.Fatalf("through an archived permission: %d %s", r.status, r.raw)
		}
	})
}

// TestEscalationOperatorOperations proves that a full admin holds the
// operations an operator declares for the gateway, which no permission
// listed when the org was made, and that nobody else can grant them
// without holding them.
func TestEscalationOperatorOperations(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t), func(c *auth.Config) { c.ExtraOperations = []string{"Orders:Create"} })
	admin := e.newUser()
	orders := e.createPermission(admin, "orders", "Orders:Create")
	u := e.member(admin, auth.AllOperations()...)
	r := e.signed(u, "POST", "/permissions", mustJSON(map[string]any{"name": "mine", "operations": []string{"Orders:Create"}}))
	if !refused(r, "Orders:Create") {
		t.Fatalf("every signet operation but not Orders:Create: %d %s", r.status, r.raw)
	}
	// Nor can it assign ManagedFullAdminAccess, which holds Orders:Create.
	if r := e.signed(u, "POST", "/permissions/"+e.adminPermission(admin)+"/assignments", mustJSON(map[string]string{"identityId": admin.userID})); !refused(r, "Orders:Create") {
		t.Fatalf("assign admin: %d %s", r.status, r.raw)
	}
	e.assign(admin, orders, u.userID)
	if r := e.signed(u, "POST", "/permissions", mustJSON(map[string]any{"name": "mine", "operations": []string{"Orders:Create"}})); r.status != 200 {
		t.Fatalf("once held: %d %s", r.status, r.raw)
	}
}
