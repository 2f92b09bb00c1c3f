package auth

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/token"
)

// TestNewActionID: an action id has the shape of every other id (Dfns's),
// sorts in the order the ids were made (what keeps the index inserts of
// signed requests on the last page), and is distinct.
func TestNewActionID(t *testing.T) {
	shape := regexp.MustCompile(`^uj-[a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{16}$`)
	seen := map[string]bool{}
	prev := ""
	for i := range 50 {
		id := newOrderedID("uj")
		if !shape.MatchString(id) {
			t.Fatalf("id %q does not have the shape of an id", id)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id] = true
		if i%10 == 0 {
			time.Sleep(2 * time.Millisecond) // a later millisecond
		}
		if prev != "" && id[:14] < prev[:14] {
			t.Errorf("id %q made after %q sorts before it", id, prev)
		}
		prev = id
	}
	// The time part sorts as the time: every digit's character is in byte
	// order, and a carry into a higher place sorts after it.
	for i := 1; i < len(sortedBase32); i++ {
		if sortedBase32[i-1] >= sortedBase32[i] {
			t.Fatalf("sortedBase32 not in byte order at %d", i)
		}
	}
	if strings.Trim(sortedBase32, "abcdefghijklmnopqrstuvwxyz234567") != "" || len(sortedBase32) != 32 {
		t.Fatal("sortedBase32 is not the alphabet of rand.Text")
	}
}

// TestChallengeIDOrdered: an action challenge's id, the key of its spent
// record, is an ordered id (newOrderedID): two challenges made one after
// the other have ids that sort in that order.
func TestChallengeIDOrdered(t *testing.T) {
	svc, err := New(Config{Store: nilStore{}, Tokens: nilTokens{}})
	if err != nil {
		t.Fatal(err)
	}
	p := &Principal{OrgID: "or-1", UserID: "us-1", TokenID: "to-1",
		signers: []*Credential{{UUID: "cr-1", CredID: "cid-1", Kind: KindKey, IsActive: true}}}
	shape := regexp.MustCompile(`^ch-[a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{16}$`)
	var prev string
	for range 8 {
		sc, err := svc.ActionInit(t.Context(), p, &ActionRequest{HTTPMethod: "POST", HTTPPath: "/wallets"})
		if err != nil {
			t.Fatal(err)
		}
		ch, err := svc.sealer.open(sc.ChallengeIdentifier)
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(ch.ID) {
			t.Fatalf("challenge id %q does not have the shape of an ordered id", ch.ID)
		}
		if prev != "" && ch.ID[:14] <= prev[:14] {
			t.Errorf("challenge id %q made after %q does not sort after it", ch.ID, prev)
		}
		prev = ch.ID
		time.Sleep(2 * time.Millisecond) // a later millisecond
	}
}

// tokenRecorder records the access-token records a Service writes.
type tokenRecorder struct {
	nilStore
	ids []string
}

func (r *tokenRecorder) CreateAccessTokenForChallenge(_ context.Context, _ string, _ time.Time, t *AccessToken) error {
	r.ids = append(r.ids, t.ID)
	return nil
}

type mintAny struct{ nilTokens }

func (mintAny) Mint(c token.Claims) (string, error) { return "tok." + c.ID, nil }

// TestLoginTokenIDOrdered: a login session's record id (the token's jti,
// the key of access_tokens, written by every login) is an ordered id: two
// logins one after the other write ids that sort in that order.
func TestLoginTokenIDOrdered(t *testing.T) {
	st := &tokenRecorder{}
	svc, err := New(Config{Store: st, Tokens: mintAny{}})
	if err != nil {
		t.Fatal(err)
	}
	u := &User{ID: "us-1", OrgID: "or-1", Username: "u@example.com", IsActive: true, IsRegistered: true}
	shape := regexp.MustCompile(`^to-[a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{16}$`)
	for range 8 {
		ch := &Challenge{ID: newOrderedID("ch"), OrgID: "or-1", UserID: "us-1", Purpose: PurposeLogin, ExpiresAt: time.Now().Add(time.Minute)}
		if _, err := svc.issue(t.Context(), u, token.KindLogin, "cr-1", time.Hour, ch); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // a later millisecond
	}
	for i, id := range st.ids {
		if !shape.MatchString(id) {
			t.Fatalf("token id %q does not have the shape of an id", id)
		}
		if i > 0 && id[:14] <= st.ids[i-1][:14] {
			t.Errorf("token id %q made after %q does not sort after it", id, st.ids[i-1])
		}
	}
	if len(st.ids) != 8 {
		t.Fatalf("%d records written, want 8", len(st.ids))
	}
}
