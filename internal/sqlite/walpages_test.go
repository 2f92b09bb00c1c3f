package sqlite

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// walFrame is one frame of a WAL file: the page it holds and whether it
// ends a transaction (its header names the database size after commit).
type walFrame struct {
	pgno   uint32
	commit bool
}

// readWAL returns the valid frames of the WAL file at path: those whose
// salts match the header's (https://sqlite.org/fileformat.html, "WAL file
// format"); frames left from before the WAL last restarted have older salts.
func readWAL(path string) ([]walFrame, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var hdr [32]byte
	if _, err := io.ReadFull(f, hdr[:]); err == io.EOF {
		return nil, 0, nil // truncated: no frames
	} else if err != nil {
		return nil, 0, err
	}
	pageSize := int(binary.BigEndian.Uint32(hdr[8:]))
	salt1, salt2 := binary.BigEndian.Uint32(hdr[16:]), binary.BigEndian.Uint32(hdr[20:])
	var out []walFrame
	fh := make([]byte, 24+pageSize)
	for {
		if _, err := io.ReadFull(f, fh); err != nil {
			break
		}
		if binary.BigEndian.Uint32(fh[8:]) != salt1 || binary.BigEndian.Uint32(fh[12:]) != salt2 {
			break
		}
		out = append(out, walFrame{pgno: binary.BigEndian.Uint32(fh[0:]), commit: binary.BigEndian.Uint32(fh[4:]) != 0})
	}
	return out, pageSize, nil
}

// walSpend is one RFC 9421 request's writes as the gateway makes them: the
// spend (nonce, audit entry of real size) and, queued after it, the
// upstream's outcome.
func walSpend(t testing.TB, s *Store, n auth.NewOrg) {
	now := time.Now()
	th := make([]byte, 32)
	rand.Read(th)
	id := benchID(true)
	a, e := fakeSigned(n, id, th, now, time.Hour, httpsigAlg, httpsigBase, httpsigSig)
	h := make([]byte, 32)
	rand.Read(h)
	nonce := "hs-" + base64.RawURLEncoding.EncodeToString(h)
	if err := s.SpendActionForChallenge(t.Context(), nonce, now.Add(5*time.Minute+5*time.Second), a, e, "/wallets", now); err != nil {
		t.Error(err)
		return
	}
	s.QueueOutcome(t.Context(), &audit.Outcome{EntryID: id, Status: 200, Time: time.Now()}, func(err error) {
		if err != nil {
			t.Error(err)
		}
	})
}

// walDfnsFlow is one Dfns signed request's writes: the action completed
// (challenge spent, action row and its pending entry), then used with its
// entry appended, then the upstream's outcome queued.
func walDfnsFlow(t testing.TB, s *Store, n auth.NewOrg) {
	now := time.Now()
	id := benchID(true)
	// The token's key starts with the time stamp its token starts with,
	// then its SHA-256, as internal/auth makes it (newActionToken).
	tok := make([]byte, 10+32)
	copy(tok, id[3:8]+id[9:14])
	rand.Read(tok[10:])
	a, e := fakeSigned(n, id, tok, now, 5*time.Minute, "ES256", 200, 72)
	// The challenge's id is time-ordered, as internal/auth makes it.
	ch := "ch" + benchID(true)[len("uj"):]
	if err := s.CreateActionForChallenge(t.Context(), ch, now.Add(5*time.Minute), a, e); err != nil {
		t.Error(err)
		return
	}
	if _, _, err := s.UseAuditedAction(t.Context(), tok, "/wallets", time.Now()); err != nil {
		t.Error(err)
		return
	}
	s.QueueOutcome(t.Context(), &audit.Outcome{EntryID: id, Status: 200, Time: time.Now()}, func(err error) {
		if err != nil {
			t.Error(err)
		}
	})
}

// walProfile is what n requests from callers goroutines wrote to the WAL.
type walProfile struct {
	requests, frames, commits int
	// byTree counts frames per B-tree and page type ("audit_entries
	// leaf"); pages not in dbstat (page 1's header, freelist) are named
	// by number.
	byTree map[string]int
}

func (p walProfile) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests, %d commits (%.1f requests each), %d frames: %.2f frames per request, %.1f per commit\n",
		p.requests, p.commits, float64(p.requests)/float64(p.commits), p.frames,
		float64(p.frames)/float64(p.requests), float64(p.frames)/float64(p.commits))
	keys := make([]string, 0, len(p.byTree))
	for k := range p.byTree {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return p.byTree[keys[i]] > p.byTree[keys[j]] })
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-50s %6d frames  %5.2f per request  %5.2f per commit\n", k, p.byTree[k],
			float64(p.byTree[k])/float64(p.requests), float64(p.byTree[k])/float64(p.commits))
	}
	return b.String()
}

// profileWAL runs n requests (walSpend) from callers goroutines and reads
// back the WAL frames they wrote: the WAL is emptied first and a reader
// holds a snapshot from before the requests, so no checkpoint copies or
// restarts it meanwhile. Pages are named after their B-tree by the dbstat
// virtual table once the requests are done.
func profileWAL(t *testing.T, s *Store, org auth.NewOrg, path string, callers, n int, request func(testing.TB, *Store, auth.NewOrg)) walProfile {
	t.Helper()
	ctx := t.Context()
	if _, err := s.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if err := s.flushOutcomes(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	before, _, err := readWAL(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	hold, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var x int
	if err := hold.QueryRowContext(ctx, "SELECT count(*) FROM orgs").Scan(&x); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			for i := g; i < n; i += callers {
				request(t, s, org)
			}
		})
	}
	wg.Wait()
	if err := s.flushOutcomes(ctx); err != nil {
		t.Fatal(err)
	}
	frames, _, err := readWAL(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	hold.Rollback()
	frames = frames[len(before):]
	rows, err := s.read.QueryContext(ctx, "SELECT pageno, name, pagetype FROM dbstat")
	if err != nil {
		t.Fatal(err)
	}
	owner := map[uint32]string{}
	for rows.Next() {
		var pg uint32
		var name, typ string
		if err := rows.Scan(&pg, &name, &typ); err != nil {
			t.Fatal(err)
		}
		owner[pg] = name + " " + typ
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p := walProfile{requests: n, frames: len(frames), byTree: map[string]int{}}
	for _, f := range frames {
		if f.commit {
			p.commits++
		}
		name, ok := owner[f.pgno]
		if !ok {
			name = fmt.Sprintf("page %d (not in dbstat)", f.pgno)
		}
		if f.pgno == 1 {
			name = "page 1 (header + sqlite_schema)"
		}
		p.byTree[name]++
	}
	return p
}

// profileOwnTrees profiles n requests (profileWAL) with one caller and with
// 16, logs each profile (go test -v) and fails t for every frame of a B-tree
// not in own, the trees a request writes itself; it returns the profiles by
// number of callers.
func profileOwnTrees(t *testing.T, s *Store, org auth.NewOrg, path string, n int, request func(testing.TB, *Store, auth.NewOrg), own map[string]bool) map[int]walProfile {
	t.Helper()
	profiles := make(map[int]walProfile)
	for _, callers := range []int{1, 16} {
		p := profileWAL(t, s, org, path, callers, n, request)
		t.Logf("%d callers: %v", callers, p)
		for k := range p.byTree {
			if tree, _, _ := strings.Cut(k, " "); !own[tree] {
				t.Errorf("%d callers: %d frames of %s; want none", callers, p.byTree[k], k)
			}
		}
		profiles[callers] = p
	}
	return profiles
}

// TestWALPagesPerRequest: what an RFC 9421 request's commit writes to the
// WAL, by B-tree, with one caller (one request per commit) and with 16
// (group commit), on a store that already holds the spent nonces of a
// busy signature window (go test -v prints the breakdown; docs/performance.md,
// "walpages"). It fails when a B-tree other than the request's own is
// written, or when one request's commit writes more pages than it did when
// 0018 dropped the nonce's expiry index (8.0 frames at one caller, 9.3
// before).
func TestWALPagesPerRequest(t *testing.T) {
	path := t.TempDir() + "/signet.db"
	s := openPath(t, path)
	org := seed(t, s)
	// A busy window: 200,000 spent nonces (random keys, as nonceID makes
	// them) and 2,000 entries.
	// Their expiries run up to the new nonces' (created + window + skew,
	// created a second-resolution time the client signs).
	exp := time.Now().Add(-10 * time.Minute).UnixMilli()
	if _, err := s.write.ExecContext(t.Context(), `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < 200000)
		INSERT INTO spent_challenges (id, expires_at)
		SELECT 'hs-' || substr(hex(randomblob(32)), 1, 43), ?1 + i * 4 FROM c`, exp); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < 2000; i += 16 {
				walSpend(t, s, org)
			}
		})
	}
	wg.Wait()
	var rowBytes, jsonBytes float64
	if err := s.read.QueryRowContext(t.Context(), `SELECT
		(SELECT sum(payload) * 1.0 / sum(ncell) FROM dbstat WHERE name = 'audit_entries' AND pagetype = 'leaf'),
		(SELECT avg(length(entry)) FROM audit_entries)`).Scan(&rowBytes, &jsonBytes); err != nil {
		t.Fatal(err)
	}
	t.Logf("audit_entries: %.0f bytes per row, of which the entry's JSON %.0f", rowBytes, jsonBytes)
	// The B-trees an RFC 9421 request writes: its nonce, its entry (the
	// table and its three indexes), the previous request's outcome, and
	// page 1 (the database's size in its header) when the file grows.
	own := map[string]bool{"spent_challenges": true, "audit_entries": true, "sqlite_autoindex_audit_entries_1": true,
		"sqlite_autoindex_audit_entries_2": true, "audit_entries_by_time": true, "audit_outcomes": true, "page": true}
	p := profileOwnTrees(t, s, org, path, 240, walSpend, own)
	if perReq := float64(p[1].frames) / float64(p[1].requests); perReq > 8.6 {
		t.Errorf("one caller: %.2f frames per request; want at most 8.6", perReq)
	}
}

// TestWALPagesDfnsFlow prints what the Dfns flow's two commits write to the
// WAL, by B-tree (go test -v; docs/performance.md, "walpages"), and fails
// when one flow writes a B-tree that is not its own (since 0019 the pending
// entry is in the action's row: action_evidence and its index are not), or
// more frames at one caller than since then (13.9; 15.9 before).
func TestWALPagesDfnsFlow(t *testing.T) {
	path := t.TempDir() + "/signet.db"
	s := openPath(t, path)
	org := seed(t, s)
	for range 500 {
		walDfnsFlow(t, s, org)
	}
	own := map[string]bool{"spent_challenges": true, "actions": true, "sqlite_autoindex_actions_1": true,
		"sqlite_autoindex_actions_2": true, "actions_by_expiry": true, "audit_entries": true, "sqlite_autoindex_audit_entries_1": true,
		"sqlite_autoindex_audit_entries_2": true, "audit_entries_by_time": true, "audit_outcomes": true, "page": true}
	p := profileOwnTrees(t, s, org, path, 160, walDfnsFlow, own)
	if perFlow := float64(p[1].frames) / float64(p[1].requests); perFlow > 14.6 {
		t.Errorf("one caller: %.2f frames per flow; want at most 14.6", perFlow)
	}
}
