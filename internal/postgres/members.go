package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// A cache member is a store that answers Principal from memory
// (principalcache.go). It holds one connection of its own, the listener,
// which LISTENs on the schema's principal channel (migration 0016's
// triggers notify it of every change a cached answer can depend on, and
// fences are sent on it, fence.go), registers the member in cache_members
// and renews its lease there. Listening and renewing share one loop on that
// one connection: PostgreSQL delivers the notifications committed before a
// statement ahead of its answer, so a renewal that succeeded means every
// notification sent before it was seen.
//
// The member serves from memory only while its lease, counted on its own
// monotonic clock from before the renewal was sent (lease.go), has not run
// out. Every notification on the channel, every error of the listener and
// a renewal that comes back after the lease ran out move the generation
// (gen), which empties the cache: an entry serves only under the
// generation its read was started in (principalcache.go). A session that
// ends (error, reconnect) ends the member: the next one registers under a
// new id, so a fence never mistakes the acknowledgement of a new session
// for that of the old one, and the old id's lease simply runs out.

// DefaultCacheLease is the lease of a cache member: how long a replica cut
// off from the database may keep answering Principal from memory, and how
// long a fence waits, at most, for a replica that does not answer.
const DefaultCacheLease = 3 * time.Second

// minCacheLease is the shortest lease a member takes (tests use short ones).
const minCacheLease = 30 * time.Millisecond

// channelSQL is the name of the schema's principal channel: the triggers of
// migration 0016 name it after the schema of the table they fire on, and
// access_tokens is found through the search_path as every statement's
// tables are.
const channelSQL = `(SELECT 'signet_pc_' || md5(n.nspname) FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'access_tokens'::regclass)`

// listenSQL makes a connection listen on the principal channel.
const listenSQL = `DO $$ BEGIN EXECUTE format('LISTEN %I', ` + channelSQL + `); END $$`

// ackPrefix starts the name of a fencer's acknowledgement channel; the rest
// is 32 hex digits.
const ackPrefix = "signet_pa_"

// fencePrefix starts a fence's payload: "fence:<ack channel>:<fence id>".
const fencePrefix = "fence:"

// member is a store's membership of the cache (see above).
type member struct {
	cfg    *pgconn.Config // the listener's, with notified and a deadline context handler
	lease  time.Duration
	origin time.Time // the zero of mono

	gen      atomic.Uint64
	deadline atomic.Int64 // mono until which the cache may serve; 0: none

	once   sync.Once
	ctx    context.Context // ends at close
	cancel context.CancelFunc
	done   chan struct{} // closed when run returned
	// registered is closed when the first session has registered.
	registered     chan struct{}
	registeredOnce sync.Once

	mu      sync.Mutex
	session *memberSession          // registered session, nil when none
	waiters map[string]*fenceWaiter // fences of this store waiting on the session's ack channel

	// Listener goroutine only: the session being set up or run, and the
	// acknowledgements owed to fences seen on it.
	cur  *memberSession
	owed []string

	// Counters for tests and docs: notifications on the principal channel,
	// sessions registered, sessions ended by an error.
	notes, sessions, failures atomic.Uint64
	// log, when set, is told when a listener session fails (the cache
	// stops serving) and when one registers after a failure; down is
	// whether the last session failed (listener goroutine only), so that
	// a listener that keeps failing (a database away, a transaction-mode
	// pooler) logs once, not every retry.
	log  *slog.Logger
	down bool
	// onSession, when set (tests, before begin), is told of each session
	// registered: its member id and its backend's process id.
	onSession func(id string, pid uint32)
}

// memberSession is one listener session: its member id and the channel its
// store's fences take acknowledgements on.
type memberSession struct{ id, ack string }

// newMember returns the member of a store connecting with cfg (copied),
// not yet started (begin).
func newMember(cfg *pgconn.Config, lease time.Duration) *member {
	m := &member{lease: max(lease, minCacheLease), origin: time.Now(), waiters: map[string]*fenceWaiter{}, done: make(chan struct{}),
		registered: make(chan struct{})}
	m.cfg = listenerConfig(cfg, m.notified)
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// listenerConfig copies cfg for a connection that waits for notifications:
// on is told of each, and a context that ends interrupts a wait by a
// deadline on the socket instead of pgconn's default, which sends a cancel
// request and closes the connection: a wait that times out leaves the
// connection as it was.
func listenerConfig(cfg *pgconn.Config, on pgconn.NotificationHandler) *pgconn.Config {
	c := cfg.Copy()
	c.OnNotification = on
	c.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	return c
}

// mono is the time on the member's monotonic clock.
func (m *member) mono() time.Duration { return time.Since(m.origin) }

// serving reports whether the cache may answer: the listener's lease has
// not run out.
func (m *member) serving() bool { return m.mono() < time.Duration(m.deadline.Load()) }

// begin starts the listener, once.
func (m *member) begin() {
	m.once.Do(func() { go m.run() })
}

// close ends the listener (its session deletes its member row) and waits
// for it.
func (m *member) close() {
	started := true
	m.once.Do(func() { started = false })
	m.cancel()
	if started {
		<-m.done
	}
	m.deadline.Store(0)
}

// lapse stops the cache from serving and empties it.
func (m *member) lapse() {
	m.deadline.Store(0)
	m.gen.Add(1)
}

// run runs listener sessions until close, each after the last ended.
func (m *member) run() {
	defer close(m.done)
	for {
		err := m.runSession()
		m.lapse()
		m.setSession(nil)
		if m.ctx.Err() != nil {
			return
		}
		if err != nil {
			m.failures.Add(1)
			if !m.down && m.log != nil {
				m.log.Warn("token state cache: its listener failed; requests read the database until it is back", "err", err)
			}
			m.down = true
		}
		t := time.NewTimer(renewEvery(m.lease))
		select {
		case <-m.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// setSession publishes the registered session (nil: none) to fences.
func (m *member) setSession(s *memberSession) {
	m.mu.Lock()
	m.session = s
	m.mu.Unlock()
}

// errLeaseLost is a registration or renewal that wrote no member row: the
// row was deleted as stale (fences no longer wait for this session), or
// the statement did not run on the listening session (registerSQL).
var errLeaseLost = errors.New("cache member row is gone")

// runSession connects, listens, registers a new member id and then waits
// for notifications, renewing the lease every third of it, until an error
// or close.
func (m *member) runSession() error {
	cctx, cancel := context.WithTimeout(m.ctx, ConnectTimeout)
	conn, err := pgconn.ConnectConfig(cctx, m.cfg)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(ctx)
		cancel()
	}()
	s := &memberSession{id: randomHex()}
	s.ack = ackPrefix + s.id
	m.cur, m.owed = s, nil
	leaseMS := m.lease.Milliseconds()
	if err := m.exec(conn, listenSQL+`; LISTEN "`+s.ack+`"`); err != nil {
		return err
	}
	sent := m.mono()
	if err := m.lease1(conn, registerSQL(s, leaseMS)); err != nil {
		return err
	}
	m.sessions.Add(1)
	defer func() {
		// Closing: stop serving, then leave the members so that no fence
		// waits for this session's lease.
		if m.ctx.Err() != nil && !conn.IsClosed() {
			m.deadline.Store(0)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Exec(ctx, `DELETE FROM cache_members WHERE id = '`+s.id+`'`).ReadAll()
			cancel()
		}
	}()
	// Entries of earlier sessions never serve again.
	m.gen.Add(1)
	m.deadline.Store(int64(servingUntil(sent, m.lease)))
	m.setSession(s)
	m.registeredOnce.Do(func() { close(m.registered) })
	if m.down && m.log != nil {
		m.log.Info("token state cache: listening again; requests are answered from memory")
	}
	m.down = false
	if h := m.onSession; h != nil {
		h(s.id, conn.PID())
	}
	next := sent + renewEvery(m.lease)
	renew := renewSQL(s, leaseMS)
	for {
		if err := m.payAcks(conn); err != nil {
			return err
		}
		if wait := next - m.mono(); wait > 0 {
			wctx, cancel := context.WithTimeout(m.ctx, wait)
			err := conn.WaitForNotification(wctx)
			cancel()
			if err != nil && (m.ctx.Err() != nil || !pgconn.Timeout(err) || conn.IsClosed()) {
				return err
			}
			continue
		}
		sent = m.mono()
		if err := m.lease1(conn, renew); err != nil {
			return err
		}
		if m.mono() >= time.Duration(m.deadline.Load()) {
			m.gen.Add(1) // the lease lapsed meanwhile: a fence may have stopped waiting for it
		}
		m.deadline.Store(int64(servingUntil(sent, m.lease)))
		next = sent + renewEvery(m.lease)
	}
}

// registerSQL registers session s with a lease of leaseMS, and first
// deletes the rows of members long gone. Like renewSQL it writes only if
// the connection it runs on is the one listening on s's channel: behind a
// pooler in transaction mode (PgBouncer) a statement may run on another
// server session than the LISTEN did, whose notifications this listener
// would never see; the member then never registers (or loses its lease),
// so its cache never serves.
func registerSQL(s *memberSession, leaseMS int64) string {
	return fmt.Sprintf(`DELETE FROM cache_members
			WHERE lease_until + (lease_ms * interval '1 millisecond') + interval '1 minute' < clock_timestamp();
		INSERT INTO cache_members (id, lease_until, lease_ms)
			SELECT '%s', clock_timestamp() + %d * interval '1 millisecond', %d
			WHERE '%s' IN (SELECT pg_listening_channels())`, s.id, leaseMS, leaseMS, s.ack)
}

// renewSQL renews session s's lease (see registerSQL).
func renewSQL(s *memberSession, leaseMS int64) string {
	return fmt.Sprintf(`UPDATE cache_members SET lease_until = clock_timestamp() + %d * interval '1 millisecond'
		WHERE id = '%s' AND '%s' IN (SELECT pg_listening_channels())`, leaseMS, s.id, s.ack)
}

// lease1 runs a registration or renewal, which must write one row.
func (m *member) lease1(conn *pgconn.PgConn, sql string) error {
	ctx, cancel := context.WithTimeout(m.ctx, max(m.lease, ConnectTimeout))
	defer cancel()
	res, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return err
	}
	if len(res) == 0 || res[len(res)-1].CommandTag.RowsAffected() != 1 {
		return errLeaseLost
	}
	return nil
}

// exec runs sql (simple protocol; values are ours: ids of hex digits,
// numbers) on the listener within one lease.
func (m *member) exec(conn *pgconn.PgConn, sql string) error {
	ctx, cancel := context.WithTimeout(m.ctx, max(m.lease, ConnectTimeout))
	defer cancel()
	_, err := conn.Exec(ctx, sql).ReadAll()
	return err
}

// notified handles a notification of the listener (on its goroutine): an
// acknowledgement for one of this store's fences, or a change or a fence
// on the principal channel, which empties the cache; a fence is owed an
// acknowledgement, sent after (payAcks).
func (m *member) notified(_ *pgconn.PgConn, n *pgconn.Notification) {
	s := m.cur
	if s != nil && n.Channel == s.ack {
		m.acked(n.Payload)
		return
	}
	if strings.HasPrefix(n.Channel, ackPrefix) {
		return // an earlier session's channel, still being left
	}
	m.gen.Add(1)
	m.notes.Add(1)
	if ack, fid, ok := parseFence(n.Payload); ok && s != nil {
		m.owed = append(m.owed, fmt.Sprintf(`pg_notify('%s', '%s %s')`, ack, fid, s.id))
	}
}

// payAcks acknowledges the fences seen, in one statement.
func (m *member) payAcks(conn *pgconn.PgConn) error {
	if len(m.owed) == 0 {
		return nil
	}
	sql := "SELECT " + strings.Join(m.owed, ", ")
	m.owed = m.owed[:0]
	return m.exec(conn, sql)
}

// acked records the acknowledgement payload ("<fence id> <member id>") for
// the fence of this store waiting for it.
func (m *member) acked(payload string) {
	fid, mid, ok := strings.Cut(payload, " ")
	if !ok {
		return
	}
	m.mu.Lock()
	w := m.waiters[fid]
	m.mu.Unlock()
	if w != nil {
		w.ack(mid)
	}
}

// await registers a fence fid of this store on the registered session's
// acknowledgement channel, which it returns; false when no session is
// registered (the fence then listens on a connection of its own).
func (m *member) await(fid string, w *fenceWaiter) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.session == nil {
		return "", false
	}
	m.waiters[fid] = w
	return m.session.ack, true
}

// forget unregisters fence fid.
func (m *member) forget(fid string) {
	m.mu.Lock()
	delete(m.waiters, fid)
	m.mu.Unlock()
}

// parseFence splits a fence's payload into its acknowledgement channel and
// fence id, both checked to be of the form this package makes (they are
// put into SQL).
func parseFence(payload string) (ack, fid string, ok bool) {
	rest, ok := strings.CutPrefix(payload, fencePrefix)
	if !ok {
		return "", "", false
	}
	ack, fid, ok = strings.Cut(rest, ":")
	if !ok || !strings.HasPrefix(ack, ackPrefix) || !isHexID(ack[len(ackPrefix):]) || !isHexID(fid) {
		return "", "", false
	}
	return ack, fid, true
}

// randomHex returns 32 random hex digits.
func randomHex() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// isHexID reports whether s is 32 lowercase hex digits (randomHex).
func isHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
