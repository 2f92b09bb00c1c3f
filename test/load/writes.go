package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// writesOptions are the flags of the writes mode.
type writesOptions struct {
	common
	n int
}

func writesFlags(args []string, w io.Writer) (writesOptions, error) {
	var o writesOptions
	fs := flag.NewFlagSet("load writes", flag.ContinueOnError)
	fs.SetOutput(w)
	o.register(fs)
	fs.IntVar(&o.n, "n", 200, "operations per flow (one client, one after the other)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.n < 1 {
		return o, errors.New("-n must be at least 1")
	}
	return o, nil
}

// flow is one thing a client does, counted on its own.
type flow struct {
	name string
	op   func(s *signet) op
}

// flows are the flows whose writes are counted: the two inits alone (issue
// 13 wants zero durable writes for them) and the three whole scenarios.
var flows = []flow{
	{"login init (unauthenticated)", func(s *signet) op {
		return func(ctx context.Context, c *http.Client) (time.Duration, error) {
			var ch struct{}
			return 0, s.user.call(ctx, c, "POST", "/auth/login/init", "", map[string]string{"orgId": s.user.orgID, "username": s.user.username}, &ch)
		}
	}},
	{"Key login (init + sign + login)", login},
	{"action init", func(s *signet) op {
		return func(ctx context.Context, c *http.Client) (time.Duration, error) {
			return 0, s.user.call(ctx, c, "POST", "/auth/action/init", s.user.token, map[string]string{
				"userActionPayload": postBody, "userActionHttpMethod": "POST", "userActionHttpPath": "/orders", "userActionServerKind": "Api",
			}, nil)
		}
	}},
	{"signed POST via gateway (init + sign + complete + POST)", signedPost},
	{"RFC 9421 signed POST via gateway (one request)", httpsigPost},
	{"authenticated GET via gateway", func(s *signet) op { return get(s.base, s.user.token) }},
}

// counts are what one flow cost, per operation.
type counts struct {
	syncs, writes float64 // SQLite: fsync+fdatasync, pwrite64 (pages) of the server process
	rows, xacts   float64 // PostgreSQL: rows inserted+updated+deleted; transactions committed
	trips         float64 // PostgreSQL: signet's round trips to the database (pgRoundTrips)
}

// runWrites makes each flow n times on each store, one client, and
// counts what the server wrote: on SQLite the server process's fsync,
// fdatasync and pwrite64 calls (strace -c attached for the flow alone);
// on PostgreSQL the rows written and transactions committed in signet's
// database (pg_stat_user_tables, pg_stat_database).
func runWrites(ctx context.Context, o writesOptions, out, progress io.Writer) error {
	if _, err := exec.LookPath("strace"); err != nil {
		return errors.New("counting SQLite's syscalls needs strace in PATH")
	}
	ss := stores(o.postgres)
	e, err := setup(ctx, o.common, ss, progress)
	if err != nil {
		return err
	}
	defer cleanup(e)
	c := newClients(1)[0]
	defer c.CloseIdleConnections()

	res := make([][]counts, len(e.signets)) // [store][flow]
	for i, s := range e.signets {
		for _, f := range flows {
			o1 := f.op(s)
			// Warm up: connections, caches, the first checkpoint.
			for range 10 {
				if _, err := o1(ctx, c); err != nil {
					return fmt.Errorf("%s on %s: %w", f.name, s.store.name, err)
				}
			}
			var k counts
			if s.store.dsn == "" {
				k, err = straceCount(ctx, e.dir, s.pid(), func() error { return repeat(ctx, o1, c, o.n) })
			} else {
				k, err = pgCount(ctx, s.store.dsn, func() error { return repeat(ctx, o1, c, o.n) })
				if err == nil {
					// A second pass of the flow, for its round trips
					// alone (strace slows it; the statistics above are
					// of an untraced pass).
					var port int
					if port, err = pgPort(s.store.dsn); err == nil {
						k.trips, err = pgRoundTrips(ctx, e.dir, s.pid(), port, func() error { return repeat(ctx, o1, c, o.n) })
					}
				}
			}
			if err != nil {
				return fmt.Errorf("%s on %s: %w", f.name, s.store.name, err)
			}
			k.syncs, k.writes, k.rows, k.xacts, k.trips = k.syncs/float64(o.n), k.writes/float64(o.n), k.rows/float64(o.n), k.xacts/float64(o.n), k.trips/float64(o.n)
			res[i] = append(res[i], k)
			fmt.Fprintf(progress, "%-58s %-14s %+v\n", f.name, s.store.name, k)
		}
	}

	fmt.Fprintf(out, "%s; %d operations per flow, one client, one after the other, after 10 unmeasured; %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), o.n, rateLimitNote(e.rateOff))
	fmt.Fprintln(out, "SQLite: the signet process's syscalls, counted by `strace -f -c` attached for the flow alone (fsync + fdatasync = durable syncs; pwrite64 = pages written to the WAL or database).")
	if o.postgres != "" {
		fmt.Fprintln(out, "PostgreSQL: pg_stat_user_tables of signet's schema (rows inserted + updated + deleted) and pg_stat_database.xact_commit (every transaction, reads included), read 11 s after the flow so the server has flushed them; round trips: the signet process's write calls on its connections to PostgreSQL (`strace -f`, a second pass of the flow), one per query, BEGIN, COMMIT or pipelined batch.")
	}
	fmt.Fprint(out, "\n| flow |")
	for _, s := range e.signets {
		if s.store.dsn == "" {
			fmt.Fprintf(out, " %s: syncs | %s: pages written |", s.store.name, s.store.name)
		} else {
			fmt.Fprintf(out, " %s: rows written | %s: transactions | %s: round trips |", s.store.name, s.store.name, s.store.name)
		}
	}
	fmt.Fprint(out, "\n|---|")
	for _, s := range e.signets {
		fmt.Fprint(out, "---:|---:|")
		if s.store.dsn != "" {
			fmt.Fprint(out, "---:|")
		}
	}
	fmt.Fprintln(out)
	for j, f := range flows {
		fmt.Fprintf(out, "| %s |", f.name)
		for i, s := range e.signets {
			k := res[i][j]
			if s.store.dsn == "" {
				fmt.Fprintf(out, " %.2f | %.2f |", k.syncs, k.writes)
			} else {
				fmt.Fprintf(out, " %.2f | %.2f | %.2f |", k.rows, k.xacts, k.trips)
			}
		}
		fmt.Fprintln(out)
	}
	return nil
}

func repeat(ctx context.Context, o op, c *http.Client, n int) error {
	for range n {
		if _, err := o(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// straceCount attaches strace to every thread of pid, runs fn, detaches,
// and returns the calls it counted.
func straceCount(ctx context.Context, dir string, pid int, fn func() error) (counts, error) {
	f := filepath.Join(dir, "strace.out")
	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "strace", "-f", "-qq", "-c", "-e", "trace=fsync,fdatasync,pwrite64", "-o", f, "-p", strconv.Itoa(pid))
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		return counts{}, err
	}
	time.Sleep(time.Second) // attaching to each thread takes a moment
	ferr := fn()
	_ = cmd.Process.Signal(syscall.SIGINT) // detach and write the summary
	if err := cmd.Wait(); err != nil && ferr == nil && !interrupted(cmd) {
		ferr = fmt.Errorf("strace: %w\n%s", err, errb.Bytes())
	}
	if ferr != nil {
		return counts{}, ferr
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return counts{}, err
	}
	var k counts
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) < 5 {
			continue
		}
		n, err := strconv.ParseFloat(fs[3], 64)
		if err != nil {
			continue
		}
		switch fs[len(fs)-1] {
		case "fsync", "fdatasync":
			k.syncs += n
		case "pwrite64":
			k.writes += n
		}
	}
	return k, nil
}

// interrupted reports whether cmd ended by the SIGINT that detaches
// strace (it re-raises it after writing its summary).
func interrupted(cmd *exec.Cmd) bool {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGINT
}

// pgCount reads signet's database's statistics before and after fn.
func pgCount(ctx context.Context, dsn string, fn func() error) (counts, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return counts{}, err
	}
	defer conn.Close(ctx)
	read := func() (rows, xacts float64, err error) {
		// The server flushes a backend's statistics when it goes idle,
		// at most every 10 s (PostgreSQL 15+).
		time.Sleep(11 * time.Second)
		err = conn.QueryRow(ctx, `SELECT
			(SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables WHERE schemaname = current_schema())::float8,
			(SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())::float8`).Scan(&rows, &xacts)
		return rows, xacts, err
	}
	r0, x0, err := read()
	if err != nil {
		return counts{}, err
	}
	if err := fn(); err != nil {
		return counts{}, err
	}
	r1, x1, err := read()
	if err != nil {
		return counts{}, err
	}
	return counts{rows: r1 - r0, xacts: x1 - x0 - 1}, nil // - 1: the first read's own transaction
}
