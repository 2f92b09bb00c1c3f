package httpsig

import (
	"bytes"
	"strings"
	"testing"
)

const testToken = "pat-eyJhbGciOiJFZERTQSJ9.payload.c2lnbmF0dXJl"

func testBase(auth string) []byte {
	return []byte(`"@method": POST` + "\n" +
		`"@target-uri": https://signet.example/permissions` + "\n" +
		`"authorization": ` + auth + "\n" +
		`"@signature-params": ("@method" "@target-uri" "authorization");created=1;keyid="k"`)
}

// The stored base holds a marker, never the token, and only the right token
// brings the signed base back.
func TestDigestAuthorization(t *testing.T) {
	base := testBase("Bearer " + testToken)
	stored, ok := DigestAuthorization(base)
	if !ok {
		t.Fatal("no authorization field found")
	}
	if bytes.Contains(stored, []byte(testToken)) {
		t.Fatalf("stored base holds the token: %s", stored)
	}
	if m := DigestedAuthorization(stored); len(m) != 1 || m[0] != AuthorizationDigest("Bearer "+testToken) {
		t.Fatalf("markers %q", m)
	}
	if again, _ := DigestAuthorization(stored); !bytes.Equal(again, stored) {
		t.Error("a marker was digested a second time")
	}
	for _, c := range []struct {
		name   string
		values []string
		ok     bool
	}{
		{"the token", AuthorizationValues(testToken), true},
		{"the field value", AuthorizationValues("Bearer " + testToken), true},
		{"another token", AuthorizationValues(testToken + "x"), false},
		{"a token's prefix", AuthorizationValues(testToken[:20]), false},
		{"nothing", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := RestoreAuthorization(stored, c.values)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if ok && !bytes.Equal(got, base) {
				t.Fatalf("restored %q, want %q", got, base)
			}
			if !ok && !bytes.Equal(got, stored) {
				t.Fatal("a failed restore changed the base")
			}
		})
	}
	// A base kept whole has nothing to restore.
	if _, ok := RestoreAuthorization(base, AuthorizationValues(testToken)); ok {
		t.Error("restored a base that holds no marker")
	}
	if _, ok := DigestAuthorization([]byte(`"@method": GET`)); ok {
		t.Error("found an authorization field in a base without one")
	}
}

func TestIsDigestMarker(t *testing.T) {
	for v, want := range map[string]bool{
		AuthorizationDigest("Bearer x"):                  true,
		"Bearer " + testToken:                            false,
		"sha-256=:abc:":                                  false, // not 32 bytes
		strings.TrimSuffix(AuthorizationDigest(""), ":"): false,
		"": false,
	} {
		if got := IsDigestMarker(v); got != want {
			t.Errorf("IsDigestMarker(%q) = %v", v, got)
		}
	}
}
