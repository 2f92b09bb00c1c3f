package auth

import "testing"

// TestLoginKeysFill: the login-key cache takes only what the readless
// login may use: the active Key and PasswordProtectedKey credentials that
// are the user's own, never a passkey (its check moves a counter), a
// token's credential or another user's; a credential found inactive is
// forgotten.
func TestLoginKeysFill(t *testing.T) {
	k := newLoginKeys(16)
	u := &User{ID: "us-1", OrgID: "or-1", Username: "u@example.com"}
	cred := func(credID string, kind CredentialKind, change func(c *Credential)) *Credential {
		c := &Credential{UUID: "cr-" + credID, OrgID: u.OrgID, UserID: u.ID, CredID: credID, Kind: kind, PublicKey: "PEM " + credID, IsActive: true}
		if change != nil {
			change(c)
		}
		return c
	}
	k.fill(u, []*Credential{cred("off", KindKey, nil)})
	k.fill(u, []*Credential{
		cred("key", KindKey, nil),
		cred("ppk", KindPasswordProtectedKey, nil),
		cred("off", KindKey, func(c *Credential) { c.IsActive = false }),
		cred("passkey", KindFido2, nil),
		cred("recovery", KindRecoveryKey, nil),
		cred("pat", KindKey, func(c *Credential) { c.TokenID = "to-pat" }),
		cred("other", KindKey, func(c *Credential) { c.UserID = "us-2" }),
		cred("otherorg", KindKey, func(c *Credential) { c.OrgID = "or-2" }),
	})
	for credID, want := range map[string]bool{"key": true, "ppk": true, "off": false, "passkey": false,
		"recovery": false, "pat": false, "other": false, "otherorg": false} {
		got, ok := k.get(u.OrgID, u.ID, credID)
		if ok != want {
			t.Errorf("%s cached: %v, want %v", credID, ok, want)
		}
		if ok && (got.uuid != "cr-"+credID || got.pem != "PEM "+credID) {
			t.Errorf("%s: entry %+v", credID, got)
		}
	}
	if _, ok := k.get("or-2", u.ID, "key"); ok {
		t.Error("an entry answered for another org")
	}
}
