package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// matrixOptions are the flags of the matrix run.
type matrixOptions struct {
	common
	duration, warmup time.Duration
	levels           []int
	rounds           int
	only             string // run only the cells whose name contains this
}

// common are the flags both modes share.
type common struct {
	signetBin string // "" = go build ./cmd/signet
	before    string // a baseline signet binary measured beside it in the same rounds; "" = none
	postgres  string // PostgreSQL URL; "" = SQLite only
	logLevel  string // signet's
}

// cell is one scenario on one target: a row of the table.
type cell struct {
	name     string // scenario and target
	store    string // "" for the baselines, which involve no signet
	key      string // names a baseline for other cells' ratios
	ratioTo  string // key of the baseline whose rate this cell is divided by
	signed   bool   // the last request is a user-action signed one: print its latency too
	op       op
	server   int    // pid of the signet serving it, for its CPU time per operation; 0 = none
	ratioFor string // how the ratio reads, for the summary
}

// The baselines every ratio is taken against, measured in the same round.
const (
	getPlain  = "GET plain ReverseProxy"
	postPlain = "POST plain ReverseProxy"
)

// result is one cell at one concurrency level in one round (or the median
// of its rounds).
type result struct {
	cell
	clients int
	sample
	ratio float64 // rps / rps of cell.ratioTo in the same round; 0 if none
}

// get and post are the baseline operations: one request to base.
func get(base, tok string) op {
	return func(ctx context.Context, c *http.Client) (time.Duration, error) {
		return do(ctx, c, "GET", base+"/orders/42", tok, "", "")
	}
}

func post(base string) op {
	return func(ctx context.Context, c *http.Client) (time.Duration, error) {
		return do(ctx, c, "POST", base+"/orders", "", postBody, "")
	}
}

// login is a Key login as an SDK makes it: init, sign, login.
func login(s *signet) op {
	return func(ctx context.Context, c *http.Client) (time.Duration, error) {
		t0 := time.Now()
		_, err := s.user.login(ctx, c)
		return time.Since(t0), err
	}
}

// signedPost is a signed request as an SDK makes it: action init, sign the
// challenge, action, then the POST through the gateway with the user
// action.
func signedPost(s *signet) op { return flowPost(s.user, s.base) }

// flowPost is the signed POST of u to base's /orders, user-action signed.
func flowPost(u *session, base string) op {
	return func(ctx context.Context, c *http.Client) (time.Duration, error) {
		ua, err := u.userAction(ctx, c, "POST", "/orders", postBody)
		if err != nil {
			return 0, err
		}
		return do(ctx, c, "POST", base+"/orders", u.token, postBody, ua)
	}
}

// The floor's cells (floor.go), by the algorithm they sign with.
const (
	floorCellP256    = "RFC 9421 signed POST via verify-only proxy (the floor, P-256)"
	floorCellEd25519 = "RFC 9421 signed POST via verify-only proxy (the floor, Ed25519)"
	floorCellFlow    = "signed POST via verify-only proxy (the floor: init + sign + complete + POST)"
	floorCellGET     = "authenticated GET via proxy reading its token (the floor)"
	floorPGStore     = "PostgreSQL, single use and token state only"
)

// cells lists the matrix: the baselines and the floor, then per store the
// four signet scenarios. The baselines' server CPU is their own process's.
func cells(t *targets, ss []*signet) []cell {
	up, plain := t.pid(t.upstream), t.pid(t.plain)
	cs := []cell{
		{name: "GET upstream direct", op: get(t.upstream, ""), ratioTo: getPlain, server: up},
		{name: getPlain, key: getPlain, op: get(t.plain, ""), server: plain},
		{name: "POST upstream direct", op: post(t.upstream), ratioTo: postPlain, server: up},
		{name: postPlain, key: postPlain, op: post(t.plain), server: plain},
		{name: floorCellP256, op: floorPost(t, t.floor, floorP256), ratioTo: postPlain, ratioFor: "to plain proxy POST: the bound for RFC 9421", server: t.pid(t.floor)},
		{name: floorCellEd25519, op: floorPost(t, t.floor, floorEd25519), ratioTo: postPlain, ratioFor: "to plain proxy POST: the bound for RFC 9421", server: t.pid(t.floor)},
		{name: floorCellFlow, op: floorFlowPost(t, t.floor), ratioTo: postPlain, ratioFor: "to plain proxy POST: the bound for the Dfns flow", server: t.pid(t.floor)},
	}
	if t.floorPG != "" {
		cs = append(cs,
			cell{name: floorCellGET, store: floorPGStore, op: get(t.floorPG, floorToken), ratioTo: getPlain, ratioFor: "to plain proxy GET: one token-state read per request", server: t.pid(t.floorPG)},
			cell{name: floorCellP256, store: floorPGStore, op: floorPost(t, t.floorPG, floorP256), ratioTo: postPlain, ratioFor: "to plain proxy POST: the bound for RFC 9421", server: t.pid(t.floorPG)},
			cell{name: floorCellFlow, store: floorPGStore, op: floorFlowPost(t, t.floorPG), ratioTo: postPlain, ratioFor: "to plain proxy POST: the bound for the Dfns flow", server: t.pid(t.floorPG)},
		)
	}
	for _, s := range ss {
		cs = append(cs,
			cell{name: "authenticated GET via gateway", store: s.store.name, op: get(s.base, s.user.token), ratioTo: getPlain, ratioFor: "to plain proxy GET", server: s.pid()},
			cell{name: "Key login (init + sign + login)", store: s.store.name, op: login(s), ratioTo: postPlain, ratioFor: "logins/s to plain proxy POST/s", server: s.pid()},
			cell{name: "signed POST via gateway (init + sign + complete + POST)", store: s.store.name, op: signedPost(s), ratioTo: postPlain, signed: true, ratioFor: "to plain proxy POST", server: s.pid()},
			cell{name: "RFC 9421 signed POST via gateway (one request)", store: s.store.name, op: httpsigPost(s), ratioTo: postPlain, ratioFor: "to plain proxy POST", server: s.pid()},
		)
	}
	return cs
}

// env is what a run sets up: the children and the client that set them up.
type env struct {
	targets *targets
	signets []*signet
	rateOff bool
	before  string // the -before binary, "" when none
	dir     string
	// loadStart and loadEnd are the machine's load averages when the
	// measured rounds began and ended (loadAvg).
	loadStart, loadEnd string
	drops              []func() // PostgreSQL schemas to drop
}

func (e *env) close() {
	for _, s := range e.signets {
		s.stop()
	}
	if e.targets != nil {
		e.targets.stop()
	}
	for _, d := range e.drops {
		d()
	}
}

// pgSchema creates a schema of its own for this run in the database dsn
// names and returns dsn confined to it (search_path), so that every run
// starts empty (signing keys sealed by a master key of an earlier run
// would not open) and leaves nothing behind: close drops it.
func (e *env) pgSchema(ctx context.Context, dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", errors.New("malformed PostgreSQL URL")
	}
	q := u.Query()
	if q.Has("search_path") {
		return "", errors.New("the PostgreSQL URL must not set search_path: each run makes a schema of its own")
	}
	schema := "signet_load_" + randomID()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", err
	}
	e.drops = append(e.drops, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// setup builds signet (unless given), starts the baseline processes and one
// signet per store.
func setup(ctx context.Context, o common, ss []store, progress io.Writer) (_ *env, err error) {
	e := &env{}
	defer func() {
		if err != nil {
			cleanup(e)
		}
	}()
	dir, err := tempDir()
	if err != nil {
		return nil, err
	}
	e.dir = dir
	bin := o.signetBin
	if bin == "" {
		fmt.Fprintln(progress, "building ./cmd/signet ...")
		if bin, err = buildSignet(ctx, dir); err != nil {
			return nil, err
		}
	}
	e.rateOff = hasRateLimitFlag(ctx, bin)
	if o.before != "" {
		if !hasRateLimitFlag(ctx, o.before) {
			e.rateOff = false // the note then says the limiter is not turned off everywhere
		}
		e.before = o.before
	}
	if e.targets, err = startTargets(ctx); err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	fmt.Fprintf(progress, "upstream %s, plain proxy %s, floor %s\n", e.targets.upstream, e.targets.plain, e.targets.floor)
	if o.postgres != "" {
		dsn, err := e.pgSchema(ctx, o.postgres)
		if err == nil {
			err = e.targets.startFloorPG(dsn)
		}
		if err != nil {
			return nil, fmt.Errorf("the floor on PostgreSQL: %w", err)
		}
		fmt.Fprintf(progress, "floor on PostgreSQL %s\n", e.targets.floorPG)
	}
	setupClient := newClients(1)[0]
	defer setupClient.CloseIdleConnections()
	for i, st := range ss {
		if st.dsn != "" {
			if st.dsn, err = e.pgSchema(ctx, st.dsn); err != nil {
				return nil, fmt.Errorf("%s: %w", st.name, err)
			}
		}
		s, err := startSignet(ctx, bin, fmt.Sprintf("%s/signet-%d", dir, i), st, e.targets.upstream, o.logLevel, e.rateOff, setupClient)
		if err != nil {
			return nil, err
		}
		e.signets = append(e.signets, s)
		fmt.Fprintf(progress, "signet on %s: %s (pid %d, pprof http://%s/debug/pprof/)\n", st.name, s.base, s.pid(), s.debug)
		if o.before == "" || ctx.Err() != nil {
			continue
		}
		// The baseline binary on the same kind of store, a database of its
		// own; its cells run right after this one's in every round.
		bst := st
		bst.name += " (before)"
		if st.dsn != "" {
			if bst.dsn, err = e.pgSchema(ctx, ss[i].dsn); err != nil {
				return nil, fmt.Errorf("%s: %w", bst.name, err)
			}
		}
		b, err := startSignet(ctx, o.before, fmt.Sprintf("%s/before-%d", dir, i), bst, e.targets.upstream, o.logLevel, hasRateLimitFlag(ctx, o.before), setupClient)
		if err != nil {
			return nil, fmt.Errorf("-before: %w", err)
		}
		e.signets = append(e.signets, b)
		fmt.Fprintf(progress, "baseline signet on %s: %s (pid %d)\n", bst.name, b.base, b.pid())
	}
	fmt.Fprintln(progress, rateLimitNote(e.rateOff))
	return e, nil
}

// runMatrix measures every cell at every level, round after round, and
// prints the tables to out; progress goes to progress. It fails, after
// printing, if any operation failed.
func runMatrix(ctx context.Context, o matrixOptions, out, progress io.Writer) error {
	e, err := setup(ctx, o.common, stores(o.postgres), progress)
	if err != nil {
		return err
	}
	defer cleanup(e)

	var cs []cell
	for _, c := range cells(e.targets, e.signets) {
		// The baselines always run: every ratio needs its own.
		if c.key != "" || strings.Contains(c.name+" "+c.store, o.only) {
			cs = append(cs, c)
		}
	}
	// rounds[l][c] holds every round of cell c at level l. Each round
	// measures every cell at every level once, one after the other, so
	// the drift of a shared machine hits all of them alike; ratios are
	// taken within a round, then the median over rounds is reported.
	rounds := make([][][]result, len(o.levels))
	for l := range rounds {
		rounds[l] = make([][]result, len(cs))
	}
	failed := 0
	e.loadStart = loadAvg()
	for i := range o.rounds {
		for l, n := range o.levels {
			base := map[string]float64{}
			var round []result
			for _, c := range cs {
				if err := ctx.Err(); err != nil {
					return err
				}
				clients := newClients(n)
				run(ctx, c.op, clients, o.warmup) // connect and warm up, discarded
				cpu0 := cpuTime(c.server)
				s := run(ctx, c.op, clients, o.duration)
				if cpu1 := cpuTime(c.server); cpu1 > 0 && cpu0 > 0 && s.ops > 0 {
					s.cpuPerOp = (cpu1 - cpu0) / time.Duration(s.ops)
				}
				closeClients(clients)
				fmt.Fprintf(progress, "round %d  %-60s c=%-3d %8.0f op/s  p50 %-9v p99 %-9v errors %d\n",
					i+1, label(c), n, s.rps, s.p50.Round(time.Microsecond), s.p99.Round(time.Microsecond), s.errors)
				if s.firstErr != nil {
					failed += s.errors
					fmt.Fprintf(progress, "  first error: %v\n", s.firstErr)
				}
				if c.key != "" {
					base[c.key] = s.rps
					c.ratioTo = c.key // a baseline's ratio to itself: 1
				}
				round = append(round, result{cell: c, clients: n, sample: s})
			}
			for j, r := range round {
				if b := base[r.ratioTo]; b > 0 {
					r.ratio = r.rps / b
				}
				rounds[l][j] = append(rounds[l][j], r)
			}
		}
	}
	var results [][]result // [level][cell], medians
	for l := range o.levels {
		var rs []result
		for j := range cs {
			rs = append(rs, medianOf(rounds[l][j]))
		}
		results = append(results, rs)
	}
	e.loadEnd = loadAvg()
	printMatrix(out, o, e, cs, results)
	if failed > 0 {
		return fmt.Errorf("%d operations failed (see the errors column and the progress output)", failed)
	}
	return nil
}

func label(c cell) string {
	if c.store == "" {
		return c.name
	}
	return c.name + " [" + c.store + "]"
}

// printMatrix writes the summary (ratios per level) and the detail
// (rates and latencies) as Markdown.
func printMatrix(out io.Writer, o matrixOptions, e *env, cs []cell, results [][]result) {
	fmt.Fprintf(out, "%s; GOMAXPROCS=%d (load generator), %d CPUs, %s/%s, %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(out, "%v per cell after %v of warm-up, median of %d interleaved rounds; closed loop, each client on its own keep-alive connection\n",
		o.duration, o.warmup, o.rounds)
	fmt.Fprintf(out, "signet: `signet serve` in a child process per store, gateway mode, log level %s; upstream and plain proxy each in a child process of its own\n", o.logLevel)
	fmt.Fprintf(out, "%s\n", rateLimitNote(e.rateOff))
	if o.postgres != "" {
		fmt.Fprintln(out, tlsNote(o.postgres))
	}
	if e.loadStart != "" {
		fmt.Fprintf(out, "machine load average (1, 5, 15 min): %s when the rounds began, %s when they ended\n", e.loadStart, e.loadEnd)
	}
	if e.before != "" {
		fmt.Fprintf(out, "stores marked (before): the baseline binary %s, measured in the same rounds, right after the binary under test on the same kind of store\n", e.before)
	}
	fmt.Fprintln(out, "server CPU/op: the serving process's user+system CPU time (/proc/PID/stat) over the cell, divided by its operations: signet's, or for the baselines the upstream's, the plain proxy's or the floor's (the upstream's own share is not in the proxies' figures)")
	fmt.Fprintln(out, "the floor: the plain proxy behind what any RFC 9421 verifier must do (digest, parse, base, P-256 verify, created window, nonce once in memory) and nothing else (no token, no durable nonce, no audit): its ratio bounds the one-round-trip signed POST on this machine (docs/load.md)")
	fmt.Fprintln(out)

	// Summary: the ratios the goals are stated in.
	fmt.Fprint(out, "| scenario | store | ratio |")
	for _, n := range o.levels {
		fmt.Fprintf(out, " %d %s |", n, plural(n, "client"))
	}
	fmt.Fprint(out, "\n|---|---|---|")
	for range o.levels {
		fmt.Fprint(out, "---:|")
	}
	fmt.Fprintln(out)
	for j, c := range cs {
		if c.ratioFor == "" {
			continue // the baselines: below
		}
		fmt.Fprintf(out, "| %s | %s | %s |", c.name, c.store, c.ratioFor)
		for l := range o.levels {
			r := results[l][j]
			fmt.Fprintf(out, " **%.2f** (%s/s) |", r.ratio, thousands(r.rps))
		}
		fmt.Fprintln(out)
	}
	for j, c := range cs {
		if c.key == "" {
			continue
		}
		fmt.Fprintf(out, "| %s (the baseline) | | req/s |", c.name)
		for l := range o.levels {
			fmt.Fprintf(out, " %s |", thousands(results[l][j].rps))
		}
		fmt.Fprintln(out)
	}

	// Detail.
	fmt.Fprintln(out, "\n| scenario | store | clients | op/s | p50 | p99 | ratio | server CPU/op | errors |")
	fmt.Fprintln(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for l, n := range o.levels {
		for _, r := range results[l] {
			ratio := ""
			if r.ratio > 0 {
				ratio = fmt.Sprintf("%.2f", r.ratio)
			}
			cpu := ""
			if r.cpuPerOp > 0 {
				cpu = fmt.Sprintf("%.0f us", float64(r.cpuPerOp)/float64(time.Microsecond))
			}
			fmt.Fprintf(out, "| %s | %s | %d | %s | %s | %s | %s | %s | %d |\n", r.name, r.store, n, thousands(r.rps), ms(r.p50), ms(r.p99), ratio, cpu, r.errors)
			if r.signed {
				fmt.Fprintf(out, "| ↳ of which the signed POST alone | %s | %d | | %s | %s | | | |\n", r.store, n, ms(r.lastP50), ms(r.lastP99))
			}
		}
	}
}

// loadAvg is the machine's load average over 1, 5 and 15 minutes
// (/proc/loadavg), "" where there is none: the figures of a shared machine
// are read with it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// thousands formats a rate with a thousands separator.
func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// do sends one request and reads the whole response; anything but a 200
// is an error.
func do(ctx context.Context, c *http.Client, method, url, tok, body, ua string) (time.Duration, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ua != "" {
		req.Header.Set("X-DFNS-USERACTION", ua)
	}
	return roundTrip(c, req, time.Now())
}

// roundTrip sends req, reads the whole response and wants a 200; it
// returns the time since start.
func roundTrip(c *http.Client, req *http.Request, start time.Time) (time.Duration, error) {
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s %s: %d %.200s", req.Method, req.URL, res.StatusCode, b)
	}
	return d, nil
}
