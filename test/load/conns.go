package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// connsOptions are the flags of the conns mode.
type connsOptions struct {
	common
	conns      int
	hold, idle time.Duration
	every      time.Duration
	memLimit   string // GOMEMLIMIT of the server process ("" = the runtime's default, none)
}

func connsFlags(args []string, w io.Writer) (connsOptions, error) {
	var o connsOptions
	fs := flag.NewFlagSet("load conns", flag.ContinueOnError)
	fs.SetOutput(w)
	o.register(fs)
	fs.IntVar(&o.conns, "n", 2000, "keep-alive connections to open, each sending one authenticated GET through the gateway")
	fs.DurationVar(&o.hold, "hold", 20*time.Second, "how long the connections stay open, idle, before the clients close them")
	fs.DurationVar(&o.idle, "idle", 60*time.Second, "how long to keep sampling the idle server after the connections closed")
	fs.DurationVar(&o.every, "every", 10*time.Second, "sampling interval of RSS and goroutines")
	fs.StringVar(&o.memLimit, "gomemlimit", "", "GOMEMLIMIT of the server process, e.g. 64MiB (default: none, the Go runtime's default)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.conns < 1 || o.conns > 20000:
		return o, errors.New("-n must be between 1 and 20000")
	case o.every <= 0 || o.hold < 0 || o.idle < 0:
		return o, errors.New("-every must be positive, -hold and -idle not negative")
	}
	return o, nil
}

// connsPoint is one sample of the conns run.
type connsPoint struct {
	phase string
	at    time.Duration
	memory
	goroutines int
}

// runConns measures what keep-alive connections cost signet: RSS and
// goroutines of the idle server, then with o.conns connections open (each
// has sent one authenticated GET through the gateway and stays idle), then
// after the clients closed them, sampled every o.every while the server
// idles, so the report says the cost per connection and how much of it
// the process gives back.
func runConns(ctx context.Context, o connsOptions, out, progress io.Writer) error {
	if o.memLimit != "" {
		// The children inherit it (childEnv keeps everything but SIGNET_*).
		if err := os.Setenv("GOMEMLIMIT", o.memLimit); err != nil {
			return err
		}
	}
	st := store{name: "SQLite FULL", sync: "full"}
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
	start := time.Now()
	var curve []connsPoint
	sample := func(phase string) error {
		m, err := rss(s.pid())
		if err != nil {
			return err
		}
		g, err := goroutines(ctx, probe, s.debug)
		if err != nil {
			return err
		}
		p := connsPoint{phase: phase, at: time.Since(start).Round(time.Second), memory: m, goroutines: g}
		curve = append(curve, p)
		fmt.Fprintf(progress, "  %-28s t=%-6v RSS %6.1f MiB (anon %.1f)  goroutines %d\n", phase, p.at, mib(p.rss), mib(p.anon), p.goroutines)
		return nil
	}
	if err := sample("before"); err != nil {
		return err
	}

	// Open the connections, a few hundred at a time, each with its own
	// transport so that each is a connection of its own.
	clients := newClients(o.conns)
	defer closeClients(clients)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures int
		firstErr error
	)
	sem := make(chan struct{}, 200)
	for _, c := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := do(ctx, c, "GET", s.base+"/orders/42", s.user.token, "", ""); err != nil {
				mu.Lock()
				failures++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failures > 0 {
		return fmt.Errorf("%d of %d connections failed; the first: %v", failures, o.conns, firstErr)
	}
	if err := sample(fmt.Sprintf("%d conns open", o.conns)); err != nil {
		return err
	}
	for t := o.every; t <= o.hold; t += o.every {
		if err := sleep(ctx, o.every); err != nil {
			return err
		}
		if err := sample(fmt.Sprintf("%d conns open, idle", o.conns)); err != nil {
			return err
		}
	}
	closeClients(clients)
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	if err := sample("closed"); err != nil {
		return err
	}
	for t := o.every; t <= o.idle; t += o.every {
		if err := sleep(ctx, o.every); err != nil {
			return err
		}
		if err := sample("closed, idle"); err != nil {
			return err
		}
	}
	printConns(out, o, e, st, curve)
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// printConns writes the samples as a Markdown table, the cost per
// connection and the share returned.
func printConns(out io.Writer, o connsOptions, e *env, st store, curve []connsPoint) {
	limit := o.memLimit
	if limit == "" {
		limit = "unset"
	}
	fmt.Fprintf(out, "%s; %d keep-alive connections, each one authenticated GET through the gateway, held %v, then closed by the clients and the server sampled idle for %v; one `signet serve` child process on %s, log level %s, GOMEMLIMIT %s; %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), o.conns, o.hold, o.idle, st.name, o.logLevel, limit, rateLimitNote(e.rateOff))
	fmt.Fprintln(out, "| phase | t | RSS (MiB) | anon | file | goroutines |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|")
	for _, p := range curve {
		fmt.Fprintf(out, "| %s | %v | %.1f | %.1f | %.1f | %d |\n", p.phase, p.at, mib(p.rss), mib(p.anon), mib(p.file), p.goroutines)
	}
	before, open, last := curve[0], curve[1], curve[len(curve)-1]
	peak := open
	for _, p := range curve[1:] {
		if p.rss > peak.rss {
			peak = p
		}
	}
	perConn := float64(peak.rss-before.rss) / float64(o.conns) / 1024
	fmt.Fprintf(out, "\nper connection: %.1f KiB of RSS (peak %.1f MiB - before %.1f MiB, / %d) and %.2f goroutines\n",
		perConn, mib(peak.rss), mib(before.rss), o.conns, float64(open.goroutines-before.goroutines)/float64(o.conns))
	if grown := peak.rss - before.rss; grown > 0 {
		fmt.Fprintf(out, "returned after %v idle: %.1f of %.1f MiB (%.0f%%); goroutines back to %d (before: %d)\n",
			o.idle, mib(peak.rss-last.rss), mib(grown), 100*float64(peak.rss-last.rss)/float64(grown), last.goroutines, before.goroutines)
	} else {
		fmt.Fprintf(out, "returned after %v idle: nothing to return (RSS did not grow); goroutines back to %d (before: %d)\n",
			o.idle, last.goroutines, before.goroutines)
	}
}

// connsMain is runMain's branch for the conns mode.
func connsMain(ctx context.Context, args []string, out, progress io.Writer) error {
	o, err := connsFlags(args, progress)
	if err != nil {
		return err
	}
	return runConns(ctx, o, out, progress)
}
