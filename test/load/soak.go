package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// soakOptions are the flags of the soak mode.
type soakOptions struct {
	common
	duration, every time.Duration
	clients         int
	sqliteSync      string
	flat            float64 // largest spread of the last half still called flat
	heapProfile     string  // where to save the server's heap profile at the end ("" = nowhere)
}

func soakFlags(args []string, w io.Writer) (soakOptions, error) {
	var o soakOptions
	fs := flag.NewFlagSet("load soak", flag.ContinueOnError)
	fs.SetOutput(w)
	o.register(fs)
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "how long to keep the load on")
	fs.DurationVar(&o.every, "every", 10*time.Second, "sampling interval of RSS and goroutines")
	fs.IntVar(&o.clients, "c", 16, "clients, each on its own keep-alive connection, in a closed loop")
	fs.StringVar(&o.sqliteSync, "sqlite-synchronous", "full", "SQLite synchronous setting, full or normal (without -postgres)")
	fs.Float64Var(&o.flat, "flat", 0.10, "the last half is flat when (max-min)/min of its RSS samples is at most this")
	fs.StringVar(&o.heapProfile, "heapprofile", "", "save the server's heap profile (from its pprof listener) to this file when the load ends; read it with go tool pprof")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.duration <= 0 || o.every <= 0 || o.every > o.duration:
		return o, errors.New("-every must be positive and at most -duration")
	case o.clients < 1:
		return o, errors.New("-c must be at least 1")
	case o.sqliteSync != "full" && o.sqliteSync != "normal":
		return o, errors.New("-sqlite-synchronous must be full or normal")
	}
	return o, nil
}

// memory is a process's resident memory, in bytes: rss in total, and its
// anonymous, file-backed and shared parts.
type memory struct{ rss, anon, file, shmem int64 }

// point is one sample of the curve.
type point struct {
	at time.Duration // since the load started
	memory
	goroutines int
	ops        [3]int64 // GET, login, signed POST completed since the previous point
	errors     int64    // since the previous point
}

// The mix, in the order each client cycles through it. The GET uses the
// token of the client's latest login.
var soakKinds = [3]string{"GET (with the token of the client's latest login)", "Key login", "signed POST"}

// runSoak keeps one signet under a mixed closed-loop load and samples its
// process's RSS (/proc/PID/status) and goroutine count (its pprof
// listener) every o.every, then prints the curve and whether its last half
// is flat.
func runSoak(ctx context.Context, o soakOptions, out, progress io.Writer) error {
	st := store{name: "SQLite " + strings.ToUpper(o.sqliteSync), sync: o.sqliteSync}
	if o.postgres != "" {
		st = store{name: "PostgreSQL", dsn: o.postgres}
	}
	e, err := setup(ctx, o.common, []store{st}, progress)
	if err != nil {
		return err
	}
	defer cleanup(e)
	s := e.signets[0]
	probe := newClients(1)[0]
	defer probe.CloseIdleConnections()

	var ops [3]atomic.Int64
	var errs atomic.Int64
	var firstErr atomic.Value
	take := func() (p point) {
		for i := range ops {
			p.ops[i] = ops[i].Swap(0)
		}
		p.errors = errs.Swap(0)
		return p
	}
	sampleAt := func(at time.Duration) (point, error) {
		p := take()
		p.at = at
		var err error
		if p.memory, err = rss(s.pid()); err != nil {
			return p, err
		}
		p.goroutines, err = goroutines(ctx, probe, s.debug)
		return p, err
	}

	first, err := sampleAt(0)
	if err != nil {
		return err
	}
	curve := []point{first}
	fmt.Fprintf(progress, "soak: %d clients for %v on %s, sampling every %v\n", o.clients, o.duration, st.name, o.every)
	printPoint(progress, first)

	lctx, stop := context.WithTimeout(ctx, o.duration)
	defer stop()
	clients := newClients(o.clients)
	defer closeClients(clients)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			// Each client calls with the token of its latest login, as an
			// application would: every cycle brings a token the server
			// has not seen, so its token cache meets a stream of new
			// entries, not one token served from memory.
			tok := s.user.token
			mix := [3]op{
				func(ctx context.Context, c *http.Client) (time.Duration, error) {
					return do(ctx, c, "GET", s.base+"/orders/42", tok, "", "")
				},
				func(ctx context.Context, c *http.Client) (time.Duration, error) {
					t, err := s.user.login(ctx, c)
					if err == nil {
						tok = t
					}
					return 0, err
				},
				signedPost(s),
			}
			for k := i % 3; lctx.Err() == nil; k = (k + 1) % 3 {
				if _, err := mix[k](context.WithoutCancel(lctx), c); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ops[k].Add(1)
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(o.every)
	var sampleErr error
	for done := false; !done; {
		select {
		case <-lctx.Done(): // the last sample, at the end of the load
			done = true
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
		at := time.Since(start).Round(time.Second)
		if done && at-curve[len(curve)-1].at < o.every/2 {
			break // a tick has just sampled the end
		}
		p, err := sampleAt(at)
		if err != nil {
			sampleErr = err
			stop()
			break
		}
		curve = append(curve, p)
		printPoint(progress, p)
	}
	tick.Stop()
	wg.Wait()
	if sampleErr != nil {
		return fmt.Errorf("sampling: %w", sampleErr)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The load's tail, after the last tick: counted in the totals only.
	tailOps := take()
	if o.heapProfile != "" {
		if err := saveHeap(ctx, probe, s.debug, o.heapProfile); err != nil {
			return fmt.Errorf("heap profile: %w", err)
		}
		fmt.Fprintf(progress, "server heap profile: %s\n", o.heapProfile)
	}

	printSoak(out, o, e, st, curve, tailOps)
	if n := sumErrors(curve) + tailOps.errors; n > 0 {
		return fmt.Errorf("%d operations failed; the first: %v", n, firstErr.Load())
	}
	return nil
}

// saveHeap writes the server's heap profile to file.
func saveHeap(ctx context.Context, c *http.Client, debugAddr, file string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+debugAddr+"/debug/pprof/heap", nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/heap: %s", res.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// goroutines reads the goroutine count from the server's pprof listener.
func goroutines(ctx context.Context, c *http.Client, debugAddr string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+debugAddr+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return 0, err
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	_, _ = io.Copy(io.Discard, res.Body)
	var n int
	if _, err2 := fmt.Sscanf(line, "goroutine profile: total %d", &n); err2 != nil {
		return 0, fmt.Errorf("goroutine profile began %q: %v %v", line, err2, err)
	}
	return n, nil
}

func printPoint(w io.Writer, p point) {
	fmt.Fprintf(w, "  t=%-6v RSS %6.1f MiB (anon %.1f, file %.1f, shmem %.1f)  goroutines %4d  ops %d GET / %d login / %d signed POST  errors %d\n",
		p.at, mib(p.rss), mib(p.anon), mib(p.file), mib(p.shmem), p.goroutines, p.ops[0], p.ops[1], p.ops[2], p.errors)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func sumErrors(ps []point) (n int64) {
	for _, p := range ps {
		n += p.errors
	}
	return n
}

// flatness is the spread (max-min)/min of the samples from the curve's
// second half (the samples taken at or after half the duration), and
// their range.
func flatness(curve []point, half time.Duration, v func(point) float64) (spread, lo, hi float64, n int) {
	for _, p := range curve {
		if p.at < half {
			continue
		}
		x := v(p)
		if n == 0 || x < lo {
			lo = x
		}
		if n == 0 || x > hi {
			hi = x
		}
		n++
	}
	if n == 0 || lo <= 0 {
		return 0, lo, hi, n
	}
	return (hi - lo) / lo, lo, hi, n
}

// printSoak writes the curve as a Markdown table and the verdict.
func printSoak(out io.Writer, o soakOptions, e *env, st store, curve []point, tailOps point) {
	fmt.Fprintf(out, "%s; soak of %v, %d clients in a closed loop (each on its own keep-alive connection) cycling %s; one `signet serve` child process on %s, gateway mode, log level %s; %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), o.duration, o.clients, strings.Join(soakKinds[:], ", "), st.name, o.logLevel, rateLimitNote(e.rateOff))
	fmt.Fprintf(out, "RSS is VmRSS of the server process (/proc/PID/status), with its parts RssAnon, RssFile, RssShmem; goroutines from its --debug-listen pprof; sampled every %v; operations counted over the interval before each sample\n\n", o.every)
	fmt.Fprintln(out, "| t | RSS (MiB) | anon | file | shmem | goroutines | GET | logins | signed POSTs | op/s | errors |")
	fmt.Fprintln(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var total [3]int64
	for i, p := range curve {
		rate := ""
		if i > 0 {
			dt := (p.at - curve[i-1].at).Seconds()
			if dt > 0 {
				rate = thousands(float64(p.ops[0]+p.ops[1]+p.ops[2]) / dt)
			}
		}
		for k := range total {
			total[k] += p.ops[k]
		}
		fmt.Fprintf(out, "| %v | %.1f | %.1f | %.1f | %.1f | %d | %d | %d | %d | %s | %d |\n", p.at, mib(p.rss), mib(p.anon), mib(p.file), mib(p.shmem), p.goroutines, p.ops[0], p.ops[1], p.ops[2], rate, p.errors)
	}
	for k := range total {
		total[k] += tailOps.ops[k]
	}
	fmt.Fprintf(out, "\ntotal: %d GET, %d logins, %d signed POSTs\n", total[0], total[1], total[2])
	half := o.duration / 2
	spread, lo, hi, n := flatness(curve, half, func(p point) float64 { return mib(p.rss) })
	verdict := "NOT flat"
	if n >= 2 && spread <= o.flat {
		verdict = "flat"
	} else if n < 2 {
		verdict = "too few samples to tell"
	}
	fmt.Fprintf(out, "RSS over the last half (%d samples from t=%v): %.1f-%.1f MiB, spread %.1f%%: **%s** within %.0f%%\n",
		n, half, lo, hi, 100*spread, verdict, 100*o.flat)
	gs, glo, ghi, _ := flatness(curve, half, func(p point) float64 { return float64(p.goroutines) })
	fmt.Fprintf(out, "goroutines over the last half: %.0f-%.0f, spread %.1f%%\n", glo, ghi, 100*gs)
}
