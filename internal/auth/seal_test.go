package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testChallenge() *Challenge {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	return &Challenge{
		ID: "ch-1", OrgID: "or-1", UserID: "us-1", TokenID: "to-1", Purpose: PurposeAction,
		Challenge: "c-value", Method: "POST", Path: "/wallets/wa-1/transfers", Query: "a=1&b=2",
		PayloadHash: bytes.Repeat([]byte{7}, 32), CredentialKind: KindKey,
		ExpiresAt: t0.Add(15 * time.Minute), CreatedAt: t0,
	}
}

func TestSealRoundTrip(t *testing.T) {
	cs, err := newChallengeSealer(bytes.Repeat([]byte{1}, ChallengeKeySize))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Challenge{
		testChallenge(),
		{ID: "ch-2", OrgID: "or-1", UserID: "us-1", Purpose: PurposeLogin, Challenge: "second-challenge-value",
			ExpiresAt: time.UnixMilli(1_800_000_000_000).UTC(), CreatedAt: time.UnixMilli(1_700_000_000_000).UTC()},
	} {
		id, err := cs.seal(c)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(id, c.Challenge) || strings.Contains(id, c.OrgID+c.UserID) {
			t.Errorf("sealed identifier shows its content: %s", id)
		}
		got, err := cs.open(id)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if d := cmp.Diff(c, got); d != "" {
			t.Errorf("open(seal(c)) differs (-want +got):\n%s", d)
		}
		again, _ := cs.seal(c)
		if again == id {
			t.Error("two seals of one challenge are equal: nonce not random")
		}
	}
}

// TestSealRefusals: nothing but an identifier sealed with this key opens.
func TestSealRefusals(t *testing.T) {
	key := bytes.Repeat([]byte{1}, ChallengeKeySize)
	cs, _ := newChallengeSealer(key)
	other, _ := newChallengeSealer(bytes.Repeat([]byte{2}, ChallengeKeySize))
	id, err := cs.seal(testChallenge())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(id)
	enc := base64.RawURLEncoding.EncodeToString
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return enc(b)
	}
	otherID, _ := other.seal(testChallenge())
	tests := []struct{ name, id string }{
		{"empty", ""},
		{"not base64", "!!!" + id},
		{"padded base64", id + "=="},
		{"truncated", enc(raw[:len(raw)-1])},
		{"header only", enc(raw[:25])},
		{"version changed", flip(0)},
		{"nonce changed", flip(5)},
		{"ciphertext changed", flip(30)},
		{"tag changed", flip(len(raw) - 1)},
		{"extra byte", enc(append(bytes.Clone(raw), 0))},
		{"sealed with another key", otherID},
		{"too long", strings.Repeat("A", maxSealedLen+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := cs.open(tt.id); !errors.Is(err, errBadSeal) {
				t.Errorf("open = %v, want errBadSeal", err)
			}
		})
	}
	if _, err := newChallengeSealer(key[:16]); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

// BenchmarkSealOpen prices opening an action challenge's identifier
// (action complete does it once per flow): the AEAD and the decoding of
// its plaintext.
func BenchmarkSealOpen(b *testing.B) {
	cs, err := newChallengeSealer(bytes.Repeat([]byte{1}, ChallengeKeySize))
	if err != nil {
		b.Fatal(err)
	}
	id, err := cs.seal(testChallenge())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cs.open(id); err != nil {
			b.Fatal(err)
		}
	}
}
