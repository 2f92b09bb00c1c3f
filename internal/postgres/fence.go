package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signet-auth/signet/internal/auth"
)

// Fences. A change committed by one replica is seen by another's cache when
// its listener gets the change's notification (members.go), which is soon
// but not at once. Spec 12.9 wants a deactivation in force on every replica
// on the very next request after it was acknowledged, so a writer fences
// before it answers: after its COMMIT it reads the live members with the
// time left on each lease by the database clock, sends a fence on the
// principal channel, and waits until each member acknowledged the fence or
// its lease (plus the drift margin, lease.go) has run out.
//
// Why that is enough. PostgreSQL delivers notifications to each listener in
// commit order, so a member sees the fence after the notification of every
// change committed before it, the fenced change included; its listener
// moves the generation for each, then acknowledges. A lookup that starts
// after the acknowledgement, hence after the fence returns, cannot use an
// entry read before the change. A member that does not acknowledge in time
// stops serving from memory when its own lease runs out, which is no later
// than the fence's wait for it; it serves again only after a renewal or a
// new session, and both follow the notifications before them and empty the
// cache when the lease had lapsed. A member that registers after the fence
// read the members registered after the change committed: every read it
// caches starts after that.
//
// A fence that cannot read the members cannot know whom to wait for: it
// returns an error that wraps auth.ErrUnavailable and says the change was
// committed (the caller answers 503; the change is in force everywhere
// within one lease, when every member that missed it has lost its lease).

// fenceSQL sends fence $1 on the principal channel and returns the members
// whose lease (by the database clock, with the drift margin) has not run
// out: their ids, the microseconds left on their lease (negative when it
// ran out within the margin) and their lease, in milliseconds. now() is the
// statement's start, before the answer: the time left is not understated.
const fenceSQL = `SELECT pg_notify(` + channelSQL + `, $1),
		ARRAY(SELECT id FROM cache_members WHERE ` + liveMemberSQL + ` ORDER BY id),
		ARRAY(SELECT (extract(epoch FROM lease_until - now()) * 1000000)::bigint FROM cache_members
			WHERE ` + liveMemberSQL + ` ORDER BY id),
		ARRAY(SELECT lease_ms FROM cache_members WHERE ` + liveMemberSQL + ` ORDER BY id)`

// liveMemberSQL is a member a fence waits for: its lease, lengthened by the
// drift margin (leaseMargin: a tenth), has not run out.
const liveMemberSQL = `lease_until + lease_ms * interval '100 microseconds' > now()`

// fenceWaiter collects the acknowledgements of one fence.
type fenceWaiter struct {
	mu   sync.Mutex
	got  map[string]bool
	news chan struct{} // signalled on each acknowledgement
}

func newFenceWaiter() *fenceWaiter {
	return &fenceWaiter{got: map[string]bool{}, news: make(chan struct{}, 1)}
}

// ack records member mid's acknowledgement.
func (w *fenceWaiter) ack(mid string) {
	w.mu.Lock()
	w.got[mid] = true
	w.mu.Unlock()
	select {
	case w.news <- struct{}{}:
	default:
	}
}

// fenceMember is one member a fence waits for, until at most deadline on
// the fencer's monotonic clock.
type fenceMember struct {
	id       string
	deadline time.Duration
}

// pending returns the members that neither acknowledged nor reached their
// deadline at now, and the earliest deadline among them.
func (w *fenceWaiter) pending(ms []fenceMember, now time.Duration) (n int, next time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range ms {
		if w.got[m.id] || now >= m.deadline {
			continue
		}
		if n == 0 || m.deadline < next {
			next = m.deadline
		}
		n++
	}
	return n, next
}

// FenceStats counts what fences waited for (tests, docs).
type FenceStats struct {
	Fences, Members, Acked, Expired uint64
}

// Fence returns once every replica that answers Principal from memory will
// answer every lookup that starts afterwards from a state that includes
// every change committed before Fence was called (see above). It
// implements auth.Fencer. A store whose cache is off fences too: other
// replicas may cache.
func (s *Store) Fence(ctx context.Context) error {
	fid := randomHex()
	w := newFenceWaiter()
	var ack string
	var own bool
	if s.pc != nil {
		ack, own = s.pc.m.await(fid, w)
		if own {
			defer s.pc.m.forget(fid)
		}
	}
	var conn *pgconn.PgConn
	if !own {
		// No registered listener of our own: listen for the
		// acknowledgements on a connection of our own, unless no one
		// caches (the cache off on every replica): then there is no one
		// to wait for, and a member that registers later registers
		// after the change committed.
		var any bool
		qctx, cancel := context.WithTimeout(ctx, StatementTimeout)
		err := s.pool.QueryRow(qctx, `SELECT EXISTS (SELECT FROM cache_members WHERE `+liveMemberSQL+`)`).Scan(&any)
		cancel()
		if err != nil {
			return fenceErr(err)
		}
		if !any {
			s.fstats.add(FenceStats{Fences: 1})
			return nil
		}
		ack = ackPrefix + randomHex()
		conn, err = pgconn.ConnectConfig(ctx, listenerConfig(&s.pool.Config().ConnConfig.Config,
			func(_ *pgconn.PgConn, n *pgconn.Notification) {
				if n.Channel == ack {
					if _, mid, ok := cutAck(n.Payload, fid); ok {
						w.ack(mid)
					}
				}
			}))
		if err != nil {
			return fenceErr(err)
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(cctx)
			cancel()
		}()
		if _, err := conn.Exec(ctx, `LISTEN "`+ack+`"`).ReadAll(); err != nil {
			return fenceErr(err)
		}
	}
	var ids []string
	var left, leases []int64
	qctx, cancel := context.WithTimeout(ctx, StatementTimeout)
	err := s.pool.QueryRow(qctx, fenceSQL, fencePrefix+ack+":"+fid).Scan(nil, &ids, &left, &leases)
	cancel()
	answered := s.fenceClock()
	if err == nil && (len(left) != len(ids) || len(leases) != len(ids)) {
		err = fmt.Errorf("members read inconsistently (%d ids, %d leases)", len(ids), len(leases))
	}
	if err != nil {
		return fenceErr(err)
	}
	ms := make([]fenceMember, len(ids))
	for i, id := range ids {
		ms[i] = fenceMember{id: id, deadline: fenceDeadline(answered, time.Duration(left[i])*time.Microsecond,
			time.Duration(leases[i])*time.Millisecond)}
	}
	s.fstats.add(FenceStats{Fences: 1, Members: uint64(len(ms))})
	for {
		now := s.fenceClock()
		n, next := w.pending(ms, now)
		if n == 0 {
			break
		}
		if conn != nil {
			// The handler records what arrives; a wait past next times out
			// without closing the connection (listenerConfig).
			wctx, cancel := context.WithTimeout(ctx, next-now)
			err := conn.WaitForNotification(wctx)
			cancel()
			if err != nil && (ctx.Err() != nil || !pgconn.Timeout(err) || conn.IsClosed()) {
				return fenceErr(err)
			}
			continue
		}
		t := time.NewTimer(next - now)
		select {
		case <-w.news:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fenceErr(ctx.Err())
		}
		t.Stop()
	}
	w.mu.Lock()
	acked := 0
	for _, m := range ms {
		if w.got[m.id] {
			acked++
		}
	}
	w.mu.Unlock()
	s.fstats.add(FenceStats{Acked: uint64(acked), Expired: uint64(len(ms) - acked)})
	return nil
}

// ChangeMark implements auth.ChangeMarker: the cache's generation. Every
// notification this store's connections receive moves it, and each of its
// own writes' notifications arrives before that write returns (every pool
// connection listens, principalcache.go), so a write of this store that
// fired migration 0016's triggers moved it before its caller went on.
func (s *Store) ChangeMark() uint64 {
	if s.pc == nil {
		return 0
	}
	return s.pc.m.gen.Load()
}

// ChangedSince implements auth.ChangeMarker: whether the generation moved
// since mark. With the cache off the pool does not listen and it cannot
// tell: always true.
func (s *Store) ChangedSince(mark uint64) bool {
	return s.pc == nil || s.pc.m.gen.Load() != mark
}

// fenceErr is the error of a fence that could not finish: the change is
// committed, but not known to be in force on every replica yet.
func fenceErr(err error) error {
	return fmt.Errorf("postgres: fence: the change is committed but could not be confirmed on every replica "+
		"(in force everywhere within one cache lease): %w: %w", auth.ErrUnavailable, err)
}

// cutAck splits an acknowledgement of fence fid into it and the member id.
func cutAck(payload, fid string) (string, string, bool) {
	f, mid, ok := strings.Cut(payload, " ")
	return f, mid, ok && f == fid
}

// fenceClock is the fencer's monotonic clock.
func (s *Store) fenceClock() time.Duration { return time.Since(s.origin) }

// fenceCounters accumulates FenceStats.
type fenceCounters struct {
	mu sync.Mutex
	FenceStats
}

func (c *fenceCounters) add(d FenceStats) {
	c.mu.Lock()
	c.Fences += d.Fences
	c.Members += d.Members
	c.Acked += d.Acked
	c.Expired += d.Expired
	c.mu.Unlock()
}

// FenceStats returns the counters of this store's fences.
func (s *Store) FenceStats() FenceStats {
	s.fstats.mu.Lock()
	defer s.fstats.mu.Unlock()
	return s.fstats.FenceStats
}
