// Package sqlite implements auth.Store on an embedded SQLite database, the
// default storage of signet (`signet serve` keeps its data in ./signet.db).
// It uses the pure-Go driver modernc.org/sqlite, so signet stays one static
// binary.
//
// The schema lives in embedded, numbered, forward-only migrations
// (migrations/NNNN_name.sql) that Open applies, each in its own transaction.
// The SQL is plain and written for SQLite only (STYLE.md habit 4).
//
// Concurrency: SQLite allows one writer at a time. The store keeps two
// pools on the same file: a write pool of exactly one connection and a read
// pool of several query-only connections. Writers therefore queue inside
// database/sql (honouring each caller's ctx) instead of racing for the
// file's write lock and failing with SQLITE_BUSY; readers never wait for
// writers because the journal is a WAL. The writes of the request paths go
// through a group committer (group.go) that folds the ones queued while a
// commit is in progress into one transaction and one fsync. Every write transaction begins
// IMMEDIATE (it takes the write lock at BEGIN), so a transaction that reads
// and then writes can never deadlock on a lock upgrade, even against another
// process that opened the same file; busy_timeout makes such a process wait
// instead of fail. WAL checkpoints run on a connection of their own, off the
// writer, except a short one that keeps the WAL bounded (checkpoint.go).
//
// Durability: synchronous=FULL by default, so a committed single-use mark
// (a spent challenge, a used action token, a sign count) survives a power
// loss; with NORMAL a WAL commit can be lost on power loss (not on a crash of
// the process), and a replay window opens. The Synchronous option trades
// that for write throughput.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	drv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/lru"
)

// Store is an auth.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	write *sql.DB // exactly one connection: every write goes through it
	read  *sql.DB // query_only connections for reads
	stmts stmts
	gc    *committer    // nil: group commit off (group.go)
	ckpt  *checkpointer // nil: SQLite checkpoints on the writer (checkpoint.go)
	pc    *principalCache
	cc    *credCache
	// pending keeps the pending entries this store wrote, for their use
	// (pendingmemo.go).
	pending *lru.Cache[string, *pendingMemo]
}

var (
	_ auth.Store         = (*Store)(nil)
	_ auth.IdentityStore = (*Store)(nil)
)

// SyncMode is a value of PRAGMA synchronous.
type SyncMode string

// The synchronous modes Open accepts.
const (
	// SyncFull fsyncs the WAL at every commit: a commit survives power loss.
	// The default.
	SyncFull SyncMode = "FULL"
	// SyncNormal fsyncs only at checkpoints: a commit survives a crash of
	// signet but maybe not a power loss, which can bring a used action token
	// or a consumed challenge back.
	SyncNormal SyncMode = "NORMAL"
	// SyncExtra also fsyncs the directory after a rollback journal is
	// deleted; with WAL it behaves as FULL.
	SyncExtra SyncMode = "EXTRA"
)

// Option configures Open.
type Option func(*options)

type options struct {
	sync        SyncMode
	busyTimeout time.Duration
	readConns   int
	noGroup     bool
	upTo        int // > 0: apply the migrations up to this version only (tests)
	// For tests of the committer's linger (group.go): a channel that
	// ends each wait instead of its timer, and a call when one begins.
	lingerC  chan time.Time
	onLinger func()
}

// Synchronous sets PRAGMA synchronous (default SyncFull). It is an option of
// Open rather than a suffix of the path, so a path is always just a path.
func Synchronous(m SyncMode) Option { return func(o *options) { o.sync = m } }

// BusyTimeout sets how long a connection waits for a lock held by another
// process before it fails with SQLITE_BUSY (default 5s). Within one Store,
// writers queue for the single write connection and never meet a lock.
func BusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// GroupCommit turns group commit (group.go) on or off; it is on by
// default. Off, every write transaction commits, and fsyncs, on its own.
func GroupCommit(on bool) Option { return func(o *options) { o.noGroup = !on } }

// migrations holds the schema, applied in the order of the number that
// starts each file name.
//
//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating it if needed) the SQLite database file at path and
// brings its schema up to date. path is a file system path, not a URI: it
// may not contain '?'; use Options for settings.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{
		sync:        SyncFull,
		busyTimeout: 5 * time.Second,
		// Reads are short index lookups; more connections than CPUs only
		// adds memory (each has its own page cache).
		readConns: max(4, runtime.GOMAXPROCS(0)),
	}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case path == "":
		return nil, errors.New("sqlite: empty database path")
	case strings.ContainsRune(path, '?'):
		return nil, fmt.Errorf("sqlite: database path %q contains '?'", path)
	case strings.HasPrefix(path, "file:"):
		return nil, fmt.Errorf("sqlite: database path %q is a URI, want a file path", path)
	}
	switch o.sync {
	case SyncFull, SyncNormal, SyncExtra:
	default:
		return nil, fmt.Errorf("sqlite: unknown synchronous mode %q", o.sync)
	}
	if o.busyTimeout < 0 {
		return nil, fmt.Errorf("sqlite: negative busy timeout %v", o.busyTimeout)
	}

	useFdatasync()
	common := url.Values{}
	common.Set("_busy_timeout", strconv.FormatInt(o.busyTimeout.Milliseconds(), 10))
	common.Set("_foreign_keys", "1")
	common.Set("_synchronous", string(o.sync))

	// The write connection sets WAL (persistent in the file, so it is in
	// force before any reader connects) and begins every transaction
	// IMMEDIATE.
	wq := cloneValues(common)
	wq.Set("_journal_mode", "WAL")
	wq.Set("_txlock", "immediate")
	// Group commit runs each caller's work in a SAVEPOINT, and SQLite keeps
	// the pages a savepoint may roll back in a statement journal: a
	// temporary file once it passes 64 KiB, which a batch of a few signed
	// requests does, costing two write syscalls per page, as many as the
	// WAL itself. With temp_store=MEMORY the journal stays in memory. It
	// only ever serves ROLLBACK TO within an open transaction (a crash
	// loses the transaction, which the WAL never saw committed), so
	// durability does not depend on it. docs/performance.md, "sigperf".
	wq.Set("_pragma", "temp_store(memory)")
	// Its changes to the rows the cached reads read invalidate their
	// caches (readcache.go).
	pc, cc := newPrincipalCache(), newCredCache()
	write, err := openWatched(path+"?"+wq.Encode(), pc.w, cc.w)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// One connection, kept open for the life of the store: SQLite has one
	// writer anyway, and with the pool as the queue, concurrent writers wait
	// their turn (bounded by their ctx) instead of spinning on SQLITE_BUSY.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write, pc: pc, cc: cc, pending: newPendingMemos()}
	if err := s.migrate(ctx, o.upTo); err != nil {
		write.Close()
		return nil, err
	}
	for _, w := range []*watch{pc.w, cc.w} {
		if err := w.resolve(ctx, write); err != nil {
			write.Close()
			return nil, err
		}
	}

	// Readers are query_only: a write sent to the read pool by mistake fails
	// loudly instead of bypassing the writer queue.
	rq := cloneValues(common)
	rq.Set("_query_only", "1")
	read, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	read.SetMaxOpenConns(o.readConns)
	read.SetMaxIdleConns(o.readConns)
	s.read = read
	if err := read.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := s.prepare(ctx, o.upTo > 0); err != nil {
		s.Close()
		return nil, err
	}
	if !o.noGroup {
		s.ckpt = s.checkpointOffWriter(ctx, path, common)
		var after func()
		if s.ckpt != nil {
			after = s.ckpt.committed
		}
		if s.gc, err = newCommitter(ctx, write, after, o.lingerC, o.onLinger); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// checkpointOffWriter starts a checkpointer (checkpoint.go) and turns the
// write connection's autocheckpoint off, or returns nil, leaving SQLite's
// autocheckpoint on, when it cannot. The pragma is set on the connection,
// not in its DSN: should database/sql ever replace the connection, the new
// one checkpoints by itself again rather than never.
func (s *Store) checkpointOffWriter(ctx context.Context, path string, common url.Values) *checkpointer {
	c, err := newCheckpointer(ctx, path, common)
	if err != nil {
		return nil
	}
	if _, err := s.write.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		c.close(0)
		return nil
	}
	return c
}

// stmts are the statements of the per-request paths (authentication,
// login, action init and complete, the signed request with its audit
// append and outcome, the operations check), prepared once in Open:
// parsing the SQL costs more than running it. A statement prepared on the
// write pool is bound to a transaction with in.
type stmts struct {
	// read pool
	principal        *sql.Stmt
	operations       *sql.Stmt
	permission       *sql.Stmt
	credentials      *sql.Stmt
	tokenCredentials *sql.Stmt
	user             *sql.Stmt
	userByUsername   *sql.Stmt
	challengeSpent   *sql.Stmt
	// login reads (loginread.go)
	userWithCredentials *sql.Stmt
	loginSubject        *sql.Stmt
	// write pool
	useAction         *sql.Stmt
	spendChallenge    *sql.Stmt
	insertAction      *sql.Stmt
	useAuditedAction  *sql.Stmt
	auditHead         *sql.Stmt
	insertEntry       *sql.Stmt
	recordOutcome     *sql.Stmt
	updateSignCount   *sql.Stmt
	insertAccessToken *sql.Stmt
	insertLogin       *sql.Stmt
	loginUsername     *sql.Stmt
	setCredActive     *sql.Stmt

	all []*sql.Stmt // every one of the above that was prepared, for Close
}

// prepare prepares the statements. With old (a test's store at an older
// schema, migrateUpTo), a statement the schema cannot take yet is left nil:
// the test writes what that schema held without it.
func (s *Store) prepare(ctx context.Context, old bool) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&s.stmts.principal, s.read, principalSQL},
		{&s.stmts.operations, s.read, operationsSQL},
		{&s.stmts.permission, s.read, permissionSQL},
		{&s.stmts.credentials, s.read, credentialsSQL},
		{&s.stmts.tokenCredentials, s.read, tokenCredentialsSQL},
		{&s.stmts.user, s.read, userSQL},
		{&s.stmts.userByUsername, s.read, userByUsernameSQL},
		{&s.stmts.challengeSpent, s.read, challengeSpentSQL},
		{&s.stmts.userWithCredentials, s.read, userWithCredentialsSQL},
		{&s.stmts.loginSubject, s.read, loginSubjectSQL},
		{&s.stmts.useAction, s.write, useActionSQL},
		{&s.stmts.spendChallenge, s.write, spendChallengeSQL},
		{&s.stmts.insertAction, s.write, insertActionSQL},
		{&s.stmts.useAuditedAction, s.write, useAuditedActionSQL},
		{&s.stmts.auditHead, s.write, auditHeadSQL},
		{&s.stmts.insertEntry, s.write, insertEntrySQL},
		{&s.stmts.recordOutcome, s.write, recordOutcomeSQL},
		{&s.stmts.updateSignCount, s.write, updateSignCountSQL},
		{&s.stmts.insertAccessToken, s.write, insertAccessTokenSQL},
		{&s.stmts.insertLogin, s.write, insertLoginSQL},
		{&s.stmts.loginUsername, s.write, loginUsernameSQL},
		{&s.stmts.setCredActive, s.write, setCredentialActiveSQL},
	} {
		st, err := p.db.PrepareContext(ctx, p.query)
		if err != nil && old {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.stmt = st
		s.stmts.all = append(s.stmts.all, st)
	}
	return nil
}

// in returns st (prepared on the write pool) bound to tx, or st itself when
// tx is nil. database/sql finds the statement already prepared on the
// write pool's one connection, so binding costs no parse; in a group
// commit's transaction each statement is bound once (committer.stmt).
func (s *Store) in(ctx context.Context, tx *sql.Tx, st *sql.Stmt) *sql.Stmt {
	switch {
	case tx == nil:
		return st
	case s.gc != nil:
		return s.gc.stmt(ctx, tx, st)
	}
	return tx.StmtContext(ctx, st)
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// Ping checks that both pools reach the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes both pools. Calls after the first return nil.
func (s *Store) Close() error {
	var errs []error
	if s.gc != nil {
		s.gc.close() // every queued write answered before the connection goes
	}
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close(time.Second))
		s.ckpt = nil
	}
	for _, st := range s.stmts.all {
		errs = append(errs, st.Close())
	}
	s.stmts.all = nil
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	return errors.Join(errs...)
}

// migration is one embedded schema file.
type migration struct {
	version int
	name    string
}

// migrationList returns the embedded migrations in order, checking that
// their numbers are unique.
func migrationList() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlite: migration %s: name is not NNNN_name.sql", base)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqlite: migrations %s and %s share number %d", other, base, v)
		}
		seen[v] = base
		ms = append(ms, migration{version: v, name: name})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies every embedded migration the database lacks, each in its
// own transaction together with its schema_migrations row, so a failed
// migration leaves nothing half done. Migrations are forward-only: a
// database that has a version this binary does not know is refused.
// upTo > 0 stops after that version (a test writing an older schema).
func (s *Store) migrate(ctx context.Context, upTo int) error {
	ms, err := migrationList()
	if err != nil {
		return err
	}
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	var latest int
	if err := s.write.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&latest); err != nil {
		return fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if len(ms) > 0 && latest > ms[len(ms)-1].version {
		return fmt.Errorf("sqlite: database schema version %d is newer than this signet (%d)", latest, ms[len(ms)-1].version)
	}
	for _, m := range ms {
		if upTo > 0 && m.version > upTo {
			break
		}
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration unless it was applied already (checked inside
// the transaction, which holds the write lock, so two processes opening the
// same file cannot both apply it).
func (s *Store) apply(ctx context.Context, m migration) error {
	body, err := migrations.ReadFile(m.name)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", path.Base(m.name), err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, path.Base(m.name), time.Now().UnixMilli())
		return err
	})
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it when
// fn returns nil. fn must use tx only: the write pool has one connection,
// so reaching for s.write inside fn would wait forever.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// group runs fn in a write transaction like tx, folded with other callers'
// into one commit when group commit is on (group.go). fn gets a context with
// ctx's values that is not cancelled with it, and must use it and tx only.
// Its error is returned, with nothing of it committed; nil means committed
// (fsynced under FULL).
func (s *Store) group(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if s.gc == nil {
		return s.tx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	return s.gc.do(ctx, fn)
}

// dbError translates a driver error into the store sentinels, by SQLite's
// extended result code (never by message text), keeping the cause wrapped
// for logs: a unique or primary key violation is auth.ErrDuplicate, a
// foreign key violation (the org, user or permission named does not exist
// in that org) is auth.ErrNotFound, and an error that says the database
// cannot serve now rather than that the statement is wrong (unavailable) is
// auth.ErrUnavailable.
func dbError(err error) error {
	var se *drv.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", auth.ErrDuplicate, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", auth.ErrNotFound, err)
		}
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", auth.ErrUnavailable, err)
	}
	return err
}

// unavailable reports whether err is one of SQLite's "cannot now" results
// (by primary result code): the file is locked by another process past the
// busy timeout, an I/O error, a full disk, a read-only or unopenable file,
// or a call interrupted because its deadline passed.
func unavailable(err error) bool {
	var se *drv.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
			sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_PROTOCOL:
			return true
		}
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// wrap adds the operation to a store error and maps driver errors;
// sql.ErrNoRows becomes auth.ErrNotFound.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = auth.ErrNotFound
	}
	return fmt.Errorf("sqlite: %s: %w", op, dbError(err))
}

// Times are stored as unix milliseconds: the domain truncates to
// milliseconds, and integers compare and index cheaply.
func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMillis(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromNullMillis(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMillis(n.Int64)
	return &t
}

// limit is the LIMIT of a page of at most n rows; n <= 0 means every row
// (SQLite reads a negative LIMIT as none).
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// one reads the single row of a write statement with a RETURNING clause
// (rows, err are what QueryContext returned) with scan. It steps the
// statement to its end before returning, so in autocommit mode the change
// is committed, and a failed commit reported, by the time it returns.
// sql.ErrNoRows when no row matched.
func one(rows *sql.Rows, err error, scan func(scanner) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		if found {
			return errors.New("more than one row returned")
		}
		if err := scan(rows); err != nil {
			return err
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if !found {
		return sql.ErrNoRows
	}
	return nil
}
