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

	"github.com/signet-auth/signet/internal/lru"
)

// Read caches: the hot reads of the SQLite store (Principal,
// principalcache.go; the signing credential read, credcache.go) are
// answered from memory while nothing they read has changed.
//
// Why it can be exact. A SQLite database is served by one `signet serve`
// (the serve lock, lock_unix.go), and every write of that process goes
// through its one write connection (Store.write). That connection carries
// SQLite's pre-update hook, which sees every row an INSERT, UPDATE or
// DELETE changes, whatever the statement, trigger or foreign key action
// that changes it, and whichever store method runs it: nothing lists store
// methods. Each cache has a watch: the tables its reads read and which
// changes to their rows can change an answer (watchedTable). A change the
// watch counts invalidates every entry of its caches at once by moving the
// watch's generation; a change it does not count (a hot write of a table
// it does not read, or an UPDATE of columns it does not read) leaves them
// alone.
//
// The ordering that makes it exact: no lookup that starts after a writing
// call has returned can use an entry read before the write was visible.
//
//  1. The hook runs inside the write, before the commit. It marks the
//     connection changed for that watch and moves the generation (gen)
//     once. A commit hook would run at the same point, before readers can
//     see the commit, so moving gen there alone would let a reader load
//     the new generation, read the old row and cache it under that
//     generation.
//  2. database/sql hands the connection back to its pool (putConn) after
//     the driver's Exec, Commit, Rollback or Rows.Close returned, and
//     before the caller's ExecContext, Tx.Commit or Rows.Close returns; it
//     calls the connection's IsValid there. watchedConn.IsValid moves gen a
//     second time for each watch the connection is marked changed for. At
//     that point the commit is visible to every read that starts
//     afterwards (WAL). (The group committer answers its callers after
//     Tx.Commit returned. A write made on a connection pinned with DB.Conn
//     would be followed by this move only at Conn.Close: the package pins
//     none.)
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
// deletes a row of a watched table today (bootstrap inserts an org and a
// user, user invite a user: a new user no cached answer can hold; the
// others write registration codes, signing keys, audit and OIDC tables),
// and neither do migrations a newer binary might apply beside an older
// server, as far as this binary knows. As defence in depth an entry also
// expires cacheTTL after its read began, so a change made behind the
// server's back (a future CLI command, an operator's sqlite3 shell) takes
// effect within that bound.

// cacheTTL bounds how long an entry may serve, whatever the generation
// says: the staleness bound for writes made by other processes.
const cacheTTL = time.Second

// watchedTable says which changes to one table's rows a watch counts: every
// DELETE; an INSERT only if inserts is set; an UPDATE only if it changes
// one of columns, or any UPDATE when columns is nil.
type watchedTable struct {
	inserts bool
	columns []string
}

// watch is the generation of the caches that read a set of tables: it
// moves on every change to their rows that can change a cached answer.
type watch struct {
	name   string
	tables map[string]watchedTable
	gen    atomic.Uint64
	// cols maps a watched table to the positions of its watched columns;
	// nil (before resolve) makes every UPDATE of a watched table count.
	cols atomic.Pointer[map[string][]int]
	// changes counts watched rows changed (tests, docs/performance.md).
	changes atomic.Uint64
}

// counts reports whether the change d can change an answer of w's caches.
func (w *watch) counts(d *drv.SQLitePreUpdateData) bool {
	t, ok := w.tables[d.TableName]
	if !ok {
		return false
	}
	switch d.Op {
	case sqlite3.SQLITE_INSERT:
		return t.inserts
	case sqlite3.SQLITE_UPDATE:
		return t.columns == nil || w.changesWatched(d)
	}
	return true
}

// noteChange records a change to a watched row: every entry is stale.
func (w *watch) noteChange() {
	w.changes.Add(1)
	w.gen.Add(1)
}

// changesWatched reports whether the UPDATE d changes a watched column of
// its table (or whether that cannot be told: then it counts).
func (w *watch) changesWatched(d *drv.SQLitePreUpdateData) bool {
	m := w.cols.Load()
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

// resolve looks up the positions of w's watched columns on db (after the
// migrations ran). Until it has, every UPDATE of a watched table counts.
func (w *watch) resolve(ctx context.Context, db *sql.DB) error {
	cols := map[string][]int{}
	for table, t := range w.tables {
		if t.columns == nil {
			continue
		}
		pos := map[string]int{}
		rows, err := db.QueryContext(ctx, `SELECT cid, name FROM pragma_table_info(?)`, table)
		if err != nil {
			return fmt.Errorf("sqlite: %s cache: %w", w.name, err)
		}
		for rows.Next() {
			var cid int
			var name string
			if err := rows.Scan(&cid, &name); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: %s cache: %w", w.name, err)
			}
			pos[name] = cid
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("sqlite: %s cache: %w", w.name, err)
		}
		for _, n := range t.columns {
			i, ok := pos[n]
			if !ok {
				return fmt.Errorf("sqlite: %s cache: table %s has no column %s", w.name, table, n)
			}
			cols[table] = append(cols[table], i)
		}
	}
	w.cols.Store(&cols)
	return nil
}

type cacheEntry[V any] struct {
	gen uint64
	at  time.Time // when the read that produced it began
	v   V
}

// readCache answers one read from memory while its watch's generation
// stands (see the comment at the top of this file). clone makes the copy
// a caller owns, of what it stores and of what it hands out.
type readCache[K comparable, V any] struct {
	w       *watch
	entries *lru.Cache[K, cacheEntry[V]]
	ttl     time.Duration
	now     func() time.Time
	clone   func(V) V

	// Lookups answered from memory and from the database.
	hits, misses atomic.Uint64
}

func newReadCache[K comparable, V any](w *watch, size int, clone func(V) V) *readCache[K, V] {
	return &readCache[K, V]{w: w, entries: lru.New[K, cacheEntry[V]](size), ttl: cacheTTL, now: time.Now, clone: clone}
}

// get returns key's answer from memory, or from read, which it caches when
// keep accepts it. A hit honours ctx as a read of the store method op
// would. read wraps its own errors.
func (c *readCache[K, V]) get(ctx context.Context, op string, key K, read func() (V, error), keep func(V) bool) (V, error) {
	if err := ctx.Err(); err != nil {
		var zero V
		return zero, wrap(op, err)
	}
	v, gen, now, ok := c.lookup(key)
	if ok {
		return v, nil
	}
	v, err := read()
	if err != nil {
		return v, err
	}
	if keep(v) {
		c.store(key, gen, now, v)
	}
	return v, nil
}

// lookup returns a copy of key's entry if it is of the current generation
// and younger than the TTL. Else it returns the generation and time to
// store the answer read next under: both taken before that read.
func (c *readCache[K, V]) lookup(key K) (v V, gen uint64, now time.Time, ok bool) {
	gen = c.w.gen.Load()
	now = c.now()
	if e, hit := c.entries.Get(key); hit && e.gen == gen && now.Sub(e.at) < c.ttl {
		c.hits.Add(1)
		return c.clone(e.v), gen, now, true
	}
	c.misses.Add(1)
	return v, gen, now, false
}

// store caches a copy of v, read after lookup returned gen and now, unless
// the generation moved since (the read may have raced a write).
func (c *readCache[K, V]) store(key K, gen uint64, now time.Time, v V) {
	if c.w.gen.Load() == gen {
		c.entries.Put(key, cacheEntry[V]{gen: gen, at: now, v: c.clone(v)})
	}
}

// openWatched opens the write pool on dsn with every connection watched
// for the changes the watches count.
func openWatched(dsn string, ws ...*watch) (*sql.DB, error) {
	if len(ws) > 64 {
		return nil, fmt.Errorf("sqlite: %d watches, at most 64", len(ws))
	}
	base, err := drv.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(watchConnector{Connector: base, watches: ws}), nil
}

// watchConnector installs the pre-update hook on every connection it opens
// and wraps it in a watchedConn.
type watchConnector struct {
	driver.Connector
	watches []*watch
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
	wc := &watchedConn{hookedConn: hc, watches: w.watches}
	hc.RegisterPreUpdateHook(wc.preUpdate)
	return wc, nil
}

// watchedConn is a write connection whose changes to watched rows move
// their watch's generation twice: when the hook sees them, and when
// database/sql returns the connection to its pool (IsValid), after the
// statement or transaction that made them ended.
type watchedConn struct {
	hookedConn
	watches []*watch
	changed atomic.Uint64 // bit i: a change counted by watches[i] not yet followed by IsValid
}

// preUpdate is SQLite's pre-update hook: it runs for every row an INSERT,
// UPDATE or DELETE on this connection changes, in the writing goroutine.
func (w *watchedConn) preUpdate(d drv.SQLitePreUpdateData) {
	for i, wt := range w.watches {
		if wt.counts(&d) {
			w.changed.Or(1 << i)
			wt.noteChange()
		}
	}
}

// settle moves the generation of every watch a change was noted for since
// the last settle.
func (w *watchedConn) settle() {
	if m := w.changed.Swap(0); m != 0 {
		for i, wt := range w.watches {
			if m&(1<<i) != 0 {
				wt.gen.Add(1)
			}
		}
	}
}

// IsValid is called by database/sql when it takes the connection back
// after a statement or transaction, before the caller's call returns: the
// change is committed (or rolled back) by then, so moving the generations
// here is step 2 of the ordering above.
func (w *watchedConn) IsValid() bool {
	w.settle()
	return w.hookedConn.IsValid()
}

// Close moves the generations of changes noted and not yet followed by
// IsValid (a connection database/sql discards as bad).
func (w *watchedConn) Close() error {
	w.settle()
	return w.hookedConn.Close()
}

// Unwrap returns the driver's connection (modernc.org/sqlite's Limit and
// similar helpers look through wrappers with it).
func (w *watchedConn) Unwrap() driver.Conn { return w.hookedConn }

// CacheStats counts a read cache's work since Open.
type CacheStats struct {
	Hits    uint64 // lookups answered from memory
	Misses  uint64 // lookups that read the database
	Changes uint64 // watched rows changed (each empties the cache)
}
