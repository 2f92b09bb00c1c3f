package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
)

// TestActionTokenKey: a token newActionToken makes is found by its stamp
// and its SHA-256 (which covers the stamp); a token made before stamps,
// and any string that is not a stamped token, by its SHA-256 alone, as its
// action was stored; the audit entry's hash of the token is its SHA-256
// either way.
func TestActionTokenKey(t *testing.T) {
	tok, key := newActionToken()
	sum := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	if len(tok) != 53 || !stamped(tok) {
		t.Fatalf("token %q is not stamped", tok)
	}
	if want := append([]byte(tok[:10]), sum(tok)...); !bytes.Equal(key, want) || !bytes.Equal(actionTokenKey(tok), want) {
		t.Fatalf("key %x, want the stamp and the token's SHA-256 %x", key, want)
	}
	legacy := newSecret()
	for _, tt := range []struct {
		name, tok string
		want      []byte
	}{
		{"stamped", tok, append([]byte(tok[:10]), sum(tok)...)},
		{"made before stamps (43 characters)", legacy, sum(legacy)},
		{"a stamp character outside the alphabet", "0" + tok[1:], sum("0" + tok[1:])},
		{"upper case in the stamp", tok[:9] + "A" + tok[10:], sum(tok[:9] + "A" + tok[10:])},
		{"one character short", tok[:52], sum(tok[:52])},
		{"one character long", tok + "a", sum(tok + "a")},
		{"empty", "", sum("")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := actionTokenKey(tt.tok)
			if !bytes.Equal(got, tt.want) {
				t.Errorf("actionTokenKey = %x, want %x", got, tt.want)
			}
			if h := actionTokenHash(got); !bytes.Equal(h, sum(tt.tok)) {
				t.Errorf("actionTokenHash = %x, want the token's SHA-256", h)
			}
		})
	}
}

// TestActionTokenKeysSorted: the keys of tokens made in later
// milliseconds sort after those made before (what keeps the inserts into
// the key's index on its last page); tokens are distinct.
func TestActionTokenKeysSorted(t *testing.T) {
	var prev []byte
	seen := map[string]bool{}
	for i := range 30 {
		tok, key := newActionToken()
		if seen[tok] {
			t.Fatalf("token %q made twice", tok)
		}
		seen[tok] = true
		if prev != nil && bytes.Compare(key, prev) < 0 && !bytes.Equal(key[:10], prev[:10]) {
			t.Fatalf("key %x made after %x sorts before it", key, prev)
		}
		prev = key
		if i%10 == 9 {
			time.Sleep(2 * time.Millisecond)
			_, next := newActionToken()
			if bytes.Compare(next[:10], prev[:10]) <= 0 {
				t.Fatalf("a later millisecond's stamp %q does not sort after %q", next[:10], prev[:10])
			}
		}
	}
}

// keyedStore finds actions by the key SpendAction asks for (a fake of
// UseAuditedAction for the tests of the token key).
type keyedStore struct {
	nilStore
	actions map[string]*Action
}

func (s *keyedStore) UseAuditedAction(_ context.Context, key []byte, _ string, _ time.Time) (*Action, *audit.Entry, error) {
	a, ok := s.actions[string(key)]
	if !ok {
		return nil, nil, ErrNotFound
	}
	delete(s.actions, string(key))
	return a, &audit.Entry{}, nil
}

// TestSpendActionTokenKey: SpendAction finds a stamped token's action by
// its stamped key and a token made before stamps (an action completed
// before an upgrade) by its hash; a stamped token with another stamp and
// the same secret finds nothing.
func TestSpendActionTokenKey(t *testing.T) {
	p := &Principal{OrgID: "or-1", UserID: "us-1", TokenID: "to-1"}
	ph, err := payloadHash(nil)
	if err != nil {
		t.Fatal(err)
	}
	stampedTok, key := newActionToken()
	legacy := newSecret()
	other := "2" + stampedTok[1:]
	if other == stampedTok {
		other = "3" + stampedTok[1:]
	}
	for _, tt := range []struct {
		name, stored, presented string
		storedKey               []byte
		ok                      bool
	}{
		{"stamped", stampedTok, stampedTok, key, true},
		{"made before stamps", legacy, legacy, hash(legacy), true},
		{"another stamp, same secret", stampedTok, other, key, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := &keyedStore{actions: map[string]*Action{}}
			st.actions[string(tt.storedKey)] = &Action{ID: "uj-1", OrgID: p.OrgID, UserID: p.UserID, TokenID: p.TokenID,
				Method: "POST", Path: "/wallets", PayloadHash: ph}
			svc, err := New(Config{Store: st, Tokens: nilTokens{}})
			if err != nil {
				t.Fatal(err)
			}
			a, err := svc.SpendAction(t.Context(), p, tt.presented, &Spend{Method: "POST", Path: "/wallets"})
			if tt.ok && (err != nil || a == nil || a.ID != "uj-1") {
				t.Fatalf("SpendAction = %v, %v; want the action", a, err)
			}
			if !tt.ok && err == nil {
				t.Fatal("SpendAction accepted a token whose key names no action")
			}
		})
	}
}
