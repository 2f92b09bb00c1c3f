package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
	"time"

	drv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/lru"
)

// The Principal cache: Principal (the token + user + credential + org join
// of every authenticated request, ~60% of the gateway's CPU over a plain
// proxy, docs/performance.md "pcache") is answered from memory while
// nothing the join reads has changed.
//
// Why it can be exact. A SQLite database is served by one `signet serve`
// (the serve lock, lock_unix.go), and every write of that process goes
// through its one write connection (Store.write). That connection carries
// SQLite's pre-update hook, which sees every row an INSERT, UPDATE or
// DELETE changes, whatever the statement, trigger or foreign key action
// that changes it, and whichever store method runs it: nothing lists store
// methods. An UPDATE or DELETE of a row of a table the join reads
// (watchedTables) invalidates every entry at once by moving a generation.
// An INSERT cannot change a cached answer: only successful lookups are
// cached (cacheable), each of the join's rows was found by its primary key
// (access_tokens.id, users.id, orgs.id, credentials.uuid), and an insert
// of a row with a key that exists fails; INSERT OR REPLACE reports the
// replaced row as a DELETE and an upsert's update as an UPDATE. So login
// token inserts, spends, audit appends and outcomes (which write other
// tables, or insert) leave the cache alone, and so do sign count updates
// (a credentials column the join does not read: watchedColumns).
//
// The ordering that makes it exact: no lookup that starts after a writing
// call has returned can use an entry read before the write was visible.
//
//  1. The hook runs inside the write, before the commit. It marks the
//     connection changed and moves the generation (gen) once. A commit hook
//     would run at the same point, before readers can see the commit, so
//     moving gen there alone would let a reader load the new generation,
//     read the old row and cache it under that generation.
//  2. database/sql hands the connection back to its pool (putConn) after
//     the driver's Exec, Commit, Rollback or Rows.Close returned, and
//     before the caller's ExecContext, Tx.Commit or Rows.Close returns; it
//     calls the connection's IsValid there. watchedConn.IsValid moves gen a
//     second time when the connection is marked changed. At that point
//     the commit is visible to every read that starts afterwards (WAL).
//     (The group committer answers its callers after Tx.Commit returned.
//     A write made on a connection pinned with DB.Conn would be followed
//     by this move only at Conn.Close: the package pins none.)
//  3. A lookup loads gen before anything else. It uses an entry only if
//     the entry is tagged with that very generation. An entry is tagged
//     with the generation its reader loaded BEFORE its database read, and
//     is stored only if gen did not move during the read.
//
// Take a write W whose call returns at time R, with gen moved to g by step
// 2 before R. A lookup starting after R loads gen >= g, so it can only use
// an entry tagged >= g. Such an entry's reader loaded gen >= g before its
// read, that is after step 2, so its read began after W's commit was
// visible and saw it. Lookups that overlap W may see the state before or
// after it, as they would without a cache. Step 1 is what makes lookups
// that overlap an open write transaction go to the database; step 2 is
// what the argument needs.
//
// Writers outside this process. The CLI commands that open the database
// beside a running server (bootstrap, rotate-key, user invite, audit
// export and verify, oidc add/list/remove) do not take the serve lock, and
// their writes do not pass this process's hook. None of them updates or
// deletes a row of a watched table today (bootstrap only inserts an org
// and a user; the others write registration codes, signing keys, audit
// and OIDC tables), and neither do migrations a newer binary might apply
// beside an older server, as far as this binary knows. As defence in depth
// an entry also expires principalTTL after its read began, so a change
// made behind the server's back (a future CLI command, an operator's
// sqlite3 shell) takes effect within that bound. A token's own expiry is
// checked against the clock on every use by auth.Service.Authenticate, not
// here.

// principalTTL bounds how long an entry may serve, whatever the
// generation says: the staleness bound for writes made by other processes.
const principalTTL = time.Second

// principalCacheSize is the ceiling of the cache (entries of ~300 bytes):
// as many tokens as the verified-token cache remembers by default.
const principalCacheSize = auth.DefaultTokenCacheSize

// watchedTables are the tables principalSQL reads. For each, nil means
// every UPDATE or DELETE counts; otherwise only an UPDATE that changes one
// of the columns named (looked up by position in resolve) does. Keep it in
// step with principalSQL.
var watchedTables = map[string][]string{
	"access_tokens": nil,
	"users":         nil,
	"orgs":          nil,
	// sign_count moves on every Fido2 signature: it must not empty the
	// cache. The join reads these four columns only.
	"credentials": {"uuid", "org_id", "user_id", "is_active"},
}

type principalKey struct{ org, token string }

type principalEntry struct {
	gen uint64
	at  time.Time // when the read that produced it began
	p   auth.PrincipalState
}

// principalCache is the cache of Principal answers; see the comment above.
type principalCache struct {
	gen     atomic.Uint64
	entries *lru.Cache[principalKey, principalEntry]
	ttl     time.Duration
	now     func() time.Time
	// cols maps a watched table to the positions of its watched columns;
	// nil (before resolve) makes every UPDATE of a watched table count.
	cols atomic.Pointer[map[string][]int]

	// Counters, for tests and for docs/performance.md: lookups answered
	// from memory and from the database, and watched rows changed.
	hits, misses, changes atomic.Uint64
}

func newPrincipalCache() *principalCache {
	return &principalCache{
		entries: lru.New[principalKey, principalEntry](principalCacheSize),
		ttl:     principalTTL,
		now:     time.Now,
	}
}

// Principal reads the token's state, its user's, whether its credential is
// active and its org's authorization version (readPrincipal), from the
// cache when nothing they are read from has changed since (see the comment
// at the top of principalcache.go). It returns a copy the caller owns.
func (s *Store) Principal(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, error) {
	if err := ctx.Err(); err != nil { // a hit honours ctx as a read would
		return nil, wrap("principal", err)
	}
	key := principalKey{orgID, tokenID}
	p, g, now, ok := s.pc.lookup(key)
	if ok {
		return p, nil
	}
	p, err := s.readPrincipal(ctx, orgID, tokenID)
	if err != nil {
		return nil, err
	}
	s.pc.store(key, g, now, p)
	return p, nil
}

// lookup returns a copy of key's entry if it is of the current generation
// and younger than the TTL. Else it returns the generation and time to
// store the answer read next under: both taken before that read.
func (c *principalCache) lookup(key principalKey) (p *auth.PrincipalState, gen uint64, now time.Time, ok bool) {
	gen = c.gen.Load()
	now = c.now()
	if e, hit := c.entries.Get(key); hit && e.gen == gen && now.Sub(e.at) < c.ttl {
		c.hits.Add(1)
		p := e.p
		return &p, gen, now, true
	}
	c.misses.Add(1)
	return nil, gen, now, false
}

// store caches a copy of p, read after lookup returned gen and now, unless
// p may not be cached or the generation moved since (the read may have
// raced a write).
func (c *principalCache) store(key principalKey, gen uint64, now time.Time, p *auth.PrincipalState) {
	if cacheable(p) && c.gen.Load() == gen {
		c.entries.Put(key, principalEntry{gen: gen, at: now, p: *p})
	}
}

// cacheable reports whether p may be cached: only a principal that passes
// every state check the store answers for, so that no INSERT can change it
// (see above) and a failure is always read afresh.
func cacheable(p *auth.PrincipalState) bool {
	return p.Token.IsActive && !p.Token.IsArchived && p.User.IsActive && !p.User.IsArchived && p.CredentialActive
}

// noteChange records a change to a watched row: every entry is stale.
func (c *principalCache) noteChange() {
	c.changes.Add(1)
	c.gen.Add(1)
}

// resolve looks up the positions of watchedTables' columns on db (after
// the migrations ran). Until it has, every UPDATE of a watched table
// counts.
func (c *principalCache) resolve(ctx context.Context, db *sql.DB) error {
	cols := map[string][]int{}
	for table, names := range watchedTables {
		if names == nil {
			continue
		}
		pos := map[string]int{}
		rows, err := db.QueryContext(ctx, `SELECT cid, name FROM pragma_table_info(?)`, table)
		if err != nil {
			return fmt.Errorf("sqlite: principal cache: %w", err)
		}
		for rows.Next() {
			var cid int
			var name string
			if err := rows.Scan(&cid, &name); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: principal cache: %w", err)
			}
			pos[name] = cid
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("sqlite: principal cache: %w", err)
		}
		for _, n := range names {
			i, ok := pos[n]
			if !ok {
				return fmt.Errorf("sqlite: principal cache: table %s has no column %s", table, n)
			}
			cols[table] = append(cols[table], i)
		}
	}
	c.cols.Store(&cols)
	return nil
}

// openWatched opens the write pool on dsn with every connection watched
// for changes to the rows Principal reads.
func openWatched(dsn string, c *principalCache) (*sql.DB, error) {
	base, err := drv.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(watchConnector{Connector: base, pc: c}), nil
}

// watchConnector installs the pre-update hook on every connection it opens
// and wraps it in a watchedConn.
type watchConnector struct {
	driver.Connector
	pc *principalCache
}

// hookedConn is what the driver's connections implement and database/sql
// uses: watchedConn forwards all of it, so database/sql keeps every fast
// path (a wrapper hiding one falls back to slower or ctx-less calls).
type hookedConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	drv.HookRegisterer
}

// Connect implements driver.Connector.
func (w watchConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := w.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	hc, ok := conn.(hookedConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite: driver connection %T has no update hooks", conn)
	}
	wc := &watchedConn{hookedConn: hc, pc: w.pc}
	hc.RegisterPreUpdateHook(wc.preUpdate)
	return wc, nil
}

// watchedConn is a write connection whose changes to watched rows move
// the Principal cache's generation twice: when the hook sees them, and
// when database/sql returns the connection to its pool (IsValid), after
// the statement or transaction that made them ended.
type watchedConn struct {
	hookedConn
	pc      *principalCache
	changed atomic.Bool
}

// preUpdate is SQLite's pre-update hook: it runs for every row an INSERT,
// UPDATE or DELETE on this connection changes, in the writing goroutine.
func (w *watchedConn) preUpdate(d drv.SQLitePreUpdateData) {
	if d.Op == sqlite3.SQLITE_INSERT {
		return
	}
	names, ok := watchedTables[d.TableName]
	if !ok {
		return
	}
	if d.Op == sqlite3.SQLITE_UPDATE && names != nil && !w.pc.changesWatched(&d) {
		return
	}
	w.changed.Store(true)
	w.pc.noteChange()
}

// changesWatched reports whether the UPDATE d changes a watched column of
// its table (or whether that cannot be told: then it counts).
func (c *principalCache) changesWatched(d *drv.SQLitePreUpdateData) bool {
	m := c.cols.Load()
	if m == nil {
		return true
	}
	pos := (*m)[d.TableName]
	if len(pos) == 0 {
		return true
	}
	n := 0
	for _, p := range pos {
		n = max(n, p+1)
	}
	old, cur := make([]any, n), make([]any, n)
	if d.Old(old...) != nil || d.New(cur...) != nil {
		return true
	}
	for _, p := range pos {
		if !sameValue(old[p], cur[p]) {
			return true
		}
	}
	return false
}

// sameValue compares two column values as the driver decodes them.
func sameValue(a, b any) bool {
	ab, aok := a.([]byte)
	bb, bok := b.([]byte)
	if aok || bok {
		return aok && bok && bytes.Equal(ab, bb)
	}
	return a == b
}

// IsValid is called by database/sql when it takes the connection back
// after a statement or transaction, before the caller's call returns: the
// change is committed (or rolled back) by then, so moving the generation
// here is step 2 of the ordering above.
func (w *watchedConn) IsValid() bool {
	if w.changed.Swap(false) {
		w.pc.gen.Add(1)
	}
	return w.hookedConn.IsValid()
}

// Close moves the generation if a change was noted and not yet followed
// by IsValid (a connection database/sql discards as bad).
func (w *watchedConn) Close() error {
	if w.changed.Swap(false) {
		w.pc.gen.Add(1)
	}
	return w.hookedConn.Close()
}

// Unwrap returns the driver's connection (modernc.org/sqlite's Limit and
// similar helpers look through wrappers with it).
func (w *watchedConn) Unwrap() driver.Conn { return w.hookedConn }

// PrincipalCacheStats counts the Principal cache's work since Open.
type PrincipalCacheStats struct {
	Hits    uint64 // lookups answered from memory
	Misses  uint64 // lookups that read the database
	Changes uint64 // watched rows updated or deleted (each empties the cache)
}

// PrincipalCacheStats returns the Principal cache's counters (tests and
// benchmarks check with them that hot writes leave the cache alone).
func (s *Store) PrincipalCacheStats() PrincipalCacheStats {
	return PrincipalCacheStats{Hits: s.pc.hits.Load(), Misses: s.pc.misses.Load(), Changes: s.pc.changes.Load()}
}
