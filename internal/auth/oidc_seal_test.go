package auth

import (
	"strings"
	"testing"
)

// TestSealSecret: a sealed client secret opens only with its own key and
// its own binding (org, provider id, purpose), and does not contain the
// secret.
func TestSealSecret(t *testing.T) {
	cs, _ := newChallengeSealer(nil)
	other, _ := newChallengeSealer(nil)
	ad := secretAD(sealPurposeOIDC, "or-1", "op-1")
	sealed := cs.sealSecret("s3cret", ad)
	if strings.Contains(sealed, "s3cret") {
		t.Fatal("the sealed value holds the secret")
	}
	if got, err := cs.openSecret(sealed, ad); err != nil || got != "s3cret" {
		t.Fatalf("openSecret = %q, %v", got, err)
	}
	for _, tc := range []struct {
		name   string
		cs     *challengeSealer
		sealed string
		ad     []byte
	}{
		{"another key", other, sealed, ad},
		{"another org", cs, sealed, secretAD(sealPurposeOIDC, "or-2", "op-1")},
		{"another provider", cs, sealed, secretAD(sealPurposeOIDC, "or-1", "op-2")},
		{"another purpose", cs, sealed, secretAD("x", "or-1", "op-1")},
		{"altered", cs, sealed[:len(sealed)-3] + "AAA", ad},
		{"truncated", cs, sealed[:20], ad},
		{"not base64", cs, "!!!", ad},
	} {
		if _, err := tc.cs.openSecret(tc.sealed, tc.ad); err == nil {
			t.Errorf("%s: opened", tc.name)
		}
	}
	// A sealed secret is no challenge identifier.
	if _, err := cs.open(sealed); err == nil {
		t.Error("a sealed secret opened as a challenge")
	}
}
