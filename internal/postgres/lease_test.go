package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

// TestLeaseArithmetic: a member serves until its lease counted from before
// the renewal was sent; a fence waits for a member until its remaining
// lease by the database clock, counted from after the answer, plus a tenth
// of the lease for clock-rate drift, and never less than that margin.
func TestLeaseArithmetic(t *testing.T) {
	const s = time.Second
	serving := []struct {
		sent, lease, want time.Duration
	}{
		{0, 3 * s, 3 * s},
		{10 * s, 3 * s, 13 * s},
		{10 * s, 300 * time.Millisecond, 10*s + 300*time.Millisecond},
	}
	for _, tc := range serving {
		if got := servingUntil(tc.sent, tc.lease); got != tc.want {
			t.Errorf("servingUntil(%v, %v) = %v, want %v", tc.sent, tc.lease, got, tc.want)
		}
	}
	fence := []struct {
		name                       string
		answered, remaining, lease time.Duration
		want                       time.Duration
	}{
		{"fresh lease", 5 * s, 3 * s, 3 * s, 5*s + 3*s + 300*time.Millisecond},
		{"part used", 5 * s, 1 * s, 3 * s, 5*s + 1*s + 300*time.Millisecond},
		{"ran out within the margin", 5 * s, -100 * time.Millisecond, 3 * s, 5*s + 300*time.Millisecond},
		{"short lease", 0, 300 * time.Millisecond, 300 * time.Millisecond, 330 * time.Millisecond},
	}
	for _, tc := range fence {
		if got := fenceDeadline(tc.answered, tc.remaining, tc.lease); got != tc.want {
			t.Errorf("%s: fenceDeadline(%v, %v, %v) = %v, want %v", tc.name, tc.answered, tc.remaining, tc.lease, got, tc.want)
		}
	}
	// The fence's wait ends no earlier than the member stops serving, when
	// the database ran the renewal at any time after it was sent and the
	// fence read the members at any time before its answer came back
	// (one clock here; the margin covers rates).
	for _, c := range []struct{ sent, ran, read, answered time.Duration }{
		{0, 0, 0, 0},
		{0, 50 * time.Millisecond, 1 * s, 1*s + 10*time.Millisecond},
		{0, 2 * s, 2 * s, 2 * s},
		{1 * s, 1 * s, 3*s + 900*time.Millisecond, 4 * s},
	} {
		lease := 3 * s
		leaseUntil := c.ran + lease // the database's lease_until
		memberStops := servingUntil(c.sent, lease)
		fenceEnds := fenceDeadline(c.answered, leaseUntil-c.read, lease)
		if fenceEnds < memberStops {
			t.Errorf("%+v: the fence ends at %v, before the member stops serving at %v", c, fenceEnds, memberStops)
		}
	}
	if got := renewEvery(3 * s); got != s {
		t.Errorf("renewEvery(3s) = %v, want 1s", got)
	}
}

// TestParseFence: only fence payloads of the form this package sends are
// acknowledged (their parts are put into SQL).
func TestParseFence(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	tests := []struct {
		payload string
		ok      bool
	}{
		{"fence:" + ackPrefix + id + ":" + id, true},
		{"access_tokens", false},
		{"fence:" + ackPrefix + id, false},
		{"fence:other_" + id + ":" + id, false},
		{"fence:" + ackPrefix + id + ":" + id + "'); DROP TABLE users; --", false},
		{"fence:" + ackPrefix + "0123456789ABCDEF0123456789abcdef:" + id, false},
	}
	for _, tc := range tests {
		ack, fid, ok := parseFence(tc.payload)
		if ok != tc.ok {
			t.Errorf("parseFence(%q) ok = %v, want %v", tc.payload, ok, tc.ok)
		}
		if ok && (ack != ackPrefix+id || fid != id) {
			t.Errorf("parseFence(%q) = %q, %q", tc.payload, ack, fid)
		}
	}
}

// TestLeaseNeedsTheListeningSession: a registration or renewal writes only
// on the session that LISTENs on the member's channel, so that behind a
// pooler that runs statements on other server sessions (PgBouncer in
// transaction mode) a member never holds a lease it would not hear
// notifications under.
func TestLeaseNeedsTheListeningSession(t *testing.T) {
	url := pgtest.URL(t)
	openPlain(t, url) // migrates the schema
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ses := &memberSession{id: randomHex()}
	ses.ack = ackPrefix + ses.id
	rows := func(sql string) int64 {
		t.Helper()
		res, err := conn.PgConn().Exec(ctx, sql).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return res[len(res)-1].CommandTag.RowsAffected()
	}
	if n := rows(registerSQL(ses, 1000)); n != 0 {
		t.Fatalf("registered from a session that does not listen: %d rows", n)
	}
	if _, err := conn.Exec(ctx, `LISTEN "`+ses.ack+`"`); err != nil {
		t.Fatal(err)
	}
	if n := rows(registerSQL(ses, 1000)); n != 1 {
		t.Fatalf("the listening session did not register: %d rows", n)
	}
	if n := rows(renewSQL(ses, 1000)); n != 1 {
		t.Fatalf("the listening session did not renew: %d rows", n)
	}
	if _, err := conn.Exec(ctx, `UNLISTEN *`); err != nil {
		t.Fatal(err)
	}
	if n := rows(renewSQL(ses, 1000)); n != 0 {
		t.Fatalf("renewed from a session that no longer listens: %d rows", n)
	}
}
