// Package postgres implements auth.Store on PostgreSQL with pgx. It is the
// production backend: several stateless signet replicas can share one
// database, so every single-use record is claimed with one atomic statement
// and every multi-row write is one transaction.
//
// The schema lives in embedded, numbered, forward-only migrations that Open
// applies under an advisory lock. Tables are unqualified, so a search_path
// parameter in the URL (postgres://…/db?search_path=signet) confines signet
// to one schema.
package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-auth/signet/internal/auth"
)

// Store is an auth.Store backed by a PostgreSQL connection pool. It is safe
// for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	oq   outcomeQueue // outcomes waiting for a commit to ride in (outcomes.go)
	ap   appender     // audited spends waiting for a group commit (group.go)
	// principals coalesces concurrent Principal reads (readbatch.go).
	principals *readBatcher[orgToken, auth.PrincipalState]
	// signers coalesces concurrent PrincipalSigners reads.
	signers *readBatcher[orgToken, signers]
	// logins and subjects coalesce concurrent UserWithCredentials and
	// LoginSubject reads (loginread.go).
	logins   *readBatcher[orgName, userCreds]
	subjects *readBatcher[subjectKey, loginSubject]
	// pc is the Principal cache (principalcache.go) and sc the signer
	// cache (signercache.go), of one member; nil when the cache is off.
	pc *coherentCache[*auth.PrincipalState]
	sc *coherentCache[*signers]
	// origin is the zero of the fences' monotonic clock; fstats counts
	// fences (fence.go).
	origin time.Time
	fstats fenceCounters
}

// Options are the settings of OpenWith.
type Options struct {
	// PrincipalCache makes the store answer Principal from memory, as a
	// member of the schema's cache (principalcache.go, members.go). It
	// holds one more connection, the listener, and needs every write that
	// must be in force at once on every replica to be fenced (Fence).
	PrincipalCache bool
	// CacheLease is the member's lease (DefaultCacheLease when 0): how long
	// it may serve from memory when cut off, and how long a fence waits
	// for a member that does not answer.
	CacheLease time.Duration
	// Logger, when set, is told when the cache's listener fails (the
	// replica then reads every principal from the database) and when it
	// is back.
	Logger *slog.Logger

	// listenerDial, when set (tests), dials the listener's connections.
	listenerDial pgconn.DialFunc
}

// Open opens the store at url with the Principal cache on (OpenWith).
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenWith(ctx, url, Options{PrincipalCache: true})
}

var (
	_ auth.Store         = (*Store)(nil)
	_ auth.IdentityStore = (*Store)(nil)
	_ auth.ChangeMarker  = (*Store)(nil)
)

// OpenWith connects to the database at url, brings its schema up to date and
// returns the store. url is a pgx connection string (URL or key=value): pool
// settings such as pool_max_conns go to pgxpool, and parameters pgx does not
// know (such as search_path) are sent to the server as run-time settings.
func OpenWith(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse error quotes the URL and redacts the password only on
		// a best-effort basis, so it is not passed on.
		return nil, errors.New("postgres: cannot parse the connection URL (not shown: it may hold a password)")
	}
	bound(cfg)
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = max(DefaultMaxConns, cfg.MaxConns)
	}
	if err := migrate(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	s := &Store{origin: time.Now()}
	if opts.PrincipalCache {
		lc := cfg.ConnConfig.Config.Copy()
		if opts.listenerDial != nil {
			lc.DialFunc = opts.listenerDial
		}
		m := newMember(lc, cmp.Or(opts.CacheLease, DefaultCacheLease))
		s.pc = newCoherentCache[*auth.PrincipalState](m, principalCacheSize)
		s.sc = newCoherentCache[*signers](m, signerCacheSize)
		s.pc.m.log = opts.Logger
		// Every pool connection listens, so that this store's own writes
		// have emptied its cache when they return (principalcache.go).
		cfg.ConnConfig.OnNotification = func(*pgconn.PgConn, *pgconn.Notification) { m.gen.Add(1) }
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, listenSQL)
			return err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.pool = pool
	s.oq.flush = s.flushAlone
	s.principals = newReadBatcher(ReadsInFlight, ReadBatchKeys, s.principalOne, s.principalMany)
	s.signers = newReadBatcher(ReadsInFlight, ReadBatchKeys, s.signersOne, s.signersMany)
	s.logins = newReadBatcher(ReadsInFlight, ReadBatchKeys, s.loginOne, s.loginMany)
	s.subjects = newReadBatcher(ReadsInFlight, ReadBatchKeys, s.subjectOne, s.subjectMany)
	return s, nil
}

// ReadsInFlight is how many statements of one coalesced read
// (readbatch.go) may be out before concurrent callers gather into the
// next; ReadBatchKeys caps the distinct keys of one statement. One
// statement out cost the least CPU per read, in signet and in PostgreSQL,
// at 16 parallel callers (BenchmarkPrincipalParallel: 7.5 us and 4.5 us,
// against 18 and 16 with two out and 31 and 52 uncoalesced; one statement
// serves tens of thousands of reads a second); under the load command two
// and four did no better (docs/performance.md, "pgget").
const (
	ReadsInFlight = 1
	ReadBatchKeys = 64
)

// DefaultMaxConns is the pool's size when the URL sets no pool_max_conns.
// pgxpool's own default is the number of CPUs (at least 4), which suits
// work that waits on the CPU; a signed request's connection mostly waits
// for the server's WAL flush, so with 4 connections 16 clients queue
// behind 4 flushes at a time and commits cannot share them (the group
// commit of group.go and PostgreSQL's own). pool_max_conns in the URL
// sets it: replicas times the pool must stay under max_connections.
const DefaultMaxConns = 16

// Defaults that bound every wait on the database when the URL sets none
// (issue 12): a connection attempt gives up after ConnectTimeout, and the
// server cancels a statement that runs longer than StatementTimeout or a
// transaction left idle longer than IdleInTransactionTimeout. Requests
// carry their own, shorter deadline on top (pgx honours ctx on every call,
// and closes a connection whose call was cut off).
const (
	ConnectTimeout           = 3 * time.Second
	StatementTimeout         = 10 * time.Second
	IdleInTransactionTimeout = 30 * time.Second
)

// bound applies the defaults above to cfg where the URL set nothing.
func bound(cfg *pgxpool.Config) {
	cc := cfg.ConnConfig
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = ConnectTimeout
	}
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	if _, ok := cc.RuntimeParams["statement_timeout"]; !ok {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(StatementTimeout.Milliseconds(), 10)
	}
	if _, ok := cc.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		cc.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(IdleInTransactionTimeout.Milliseconds(), 10)
	}
}

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close commits the queued outcomes, then closes every connection of the
// pool. It may be called more than once.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), StatementTimeout)
	defer cancel()
	err := s.flushOutcomes(ctx)
	s.oq.stop()
	if s.pc != nil {
		s.pc.m.close()
	}
	s.pool.Close()
	return err
}

// PostgreSQL error codes (Appendix A of the manual).
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// unavailable reports whether err says the database cannot serve now,
// rather than that the statement is wrong: a connection that could not be
// made or was lost, a call cut off by its deadline, or a server error of
// the classes "connection exception" (08), "insufficient resources" (53),
// "operator intervention" (57: shutdown, statement timeout) or "system
// error" (58). Recognised by type and SQLSTATE, never by message text.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:min(2, len(pe.Code))] {
		case "08", "53", "57", "58":
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, context.DeadlineExceeded)
}

// dbErr turns a driver error into one the domain understands: no rows is
// auth.ErrNotFound, a unique violation auth.ErrDuplicate, a foreign-key
// violation (the org or user referred to does not exist) auth.ErrNotFound.
// Errors are recognised by code, never by message text.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, auth.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return fmt.Errorf("postgres: %s: %w (%s)", op, auth.ErrDuplicate, pe.ConstraintName)
		case codeForeignKeyViolation:
			return fmt.Errorf("postgres: %s: %w (%s)", op, auth.ErrNotFound, pe.ConstraintName)
		}
	}
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, auth.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// notFound is the error for a write that matched no row.
func notFound(op string) error {
	return fmt.Errorf("postgres: %s: %w", op, auth.ErrNotFound)
}

// utc returns t in UTC; pgx hands back timestamptz in the local zone.
func utc(t time.Time) time.Time { return t.UTC() }

// utcPtr returns t in UTC, nil for nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// limit is the LIMIT of a page of at most n rows; n <= 0 means every row
// (LIMIT NULL).
func limit(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}

// execer is a pool, a connection or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// rowScanner is pgx.Row and pgx.Rows alike.
type rowScanner interface {
	Scan(dest ...any) error
}
