package sqlite

import (
	"bytes"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/lru"
)

// An action's pending entry is written as JSON by action complete
// (CreateActionForChallenge) and decoded again by the signed request that
// spends the action (UseAuditedAction), in the group committer's turn:
// json.Unmarshal of ~1.5 KB, the largest JSON cost of the Dfns flow left
// in the store (docs/performance.md, "dfnscpu"). The store keeps the entry
// it wrote, with its JSON, for the use to take instead of decoding it.
//
// What the use appends must be what the row holds, memo or not: the memo
// is taken only when the row's JSON is byte for byte the JSON it was made
// from, and only made when decoding that JSON gives the entry back
// (exactJSON). A miss (another store on the file completed the action,
// a restart, the memo full) decodes the row as before.

// pendingMemoSize bounds the memo: one entry per action completed and not
// yet used (~3 KB each, ~3 MB in all); when full, the oldest makes room.
const pendingMemoSize = 1024

// pendingMemo is a pending entry as stored: its JSON, and the entry.
type pendingMemo struct {
	blob []byte
	e    audit.Entry
}

func newPendingMemos() *lru.Cache[string, *pendingMemo] {
	return lru.New[string, *pendingMemo](pendingMemoSize)
}

// rememberPending keeps e, stored as blob for the action id, for its use.
func (s *Store) rememberPending(id string, blob []byte, e *audit.Entry) {
	if !exactJSON(blob) {
		return
	}
	m := &pendingMemo{blob: blob, e: *e}
	m.e.PayloadHash = bytes.Clone(e.PayloadHash)
	m.e.ActionTokenHash = bytes.Clone(e.ActionTokenHash)
	s.pending.Put(id, m)
}

// takePending returns the entry kept for the action id if the row's JSON
// blob is the one it was stored as, and forgets it.
func (s *Store) takePending(id string, blob []byte) (audit.Entry, bool) {
	m, ok := s.pending.Get(id)
	if !ok {
		return audit.Entry{}, false
	}
	s.pending.Remove(id)
	if !bytes.Equal(m.blob, blob) {
		return audit.Entry{}, false
	}
	return m.e, true
}

// exactJSON reports whether blob, encoding/json's encoding of an entry,
// decodes to that entry in every field the seal leaves as it is. The one
// thing the encoding loses is a string's invalid UTF-8, which it writes as
// the escape \ufffd (a valid U+FFFD it writes as itself); an entry whose
// JSON holds that escape, for that or for a literal "\ufffd" in a string,
// is decoded from its row instead. (Its time, the one field whose encoding
// drops something, its location, is set by the seal.)
func exactJSON(blob []byte) bool {
	return !bytes.Contains(blob, []byte(`\ufffd`))
}
