// Command gwbench measures signet's gateway side by side with the upstream
// it guards: requests per second and p50/p99 latency of an authenticated GET
// and of a user-action signed POST through the gateway, against the same
// upstream called directly and through a plain httputil.ReverseProxy, on
// loopback, at several concurrency levels, in one run.
//
//	go run ./internal/gateway/cmd/gwbench -d 3s -c 1,16,64 -rounds 3
//
// Everything runs in this one process (the upstream, the plain proxy,
// signet on SQLite in a temporary directory, and the load generator), so
// all of them share the machine's cores: compare rows with each other, not
// with figures from another machine or another day (PERFORMANCE.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

func main() {
	var o options
	var levels string
	flag.DurationVar(&o.duration, "d", 3*time.Second, "measured time per cell")
	flag.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unmeasured time before each cell")
	flag.StringVar(&levels, "c", "1,16,64", "concurrency levels, comma-separated")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; each cell reports the median round (by requests per second)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (all targets and the load) to this file")
	flag.StringVar(&o.scenarios, "only", "", "run only the scenarios whose name contains this")
	flag.StringVar(&o.logLevel, "log-level", "info", "signet's log level (logs go to io.Discard; info logs every request, as in production)")
	flag.Parse()
	for _, s := range strings.Split(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "gwbench: bad concurrency %q\n", s)
			os.Exit(2)
		}
		o.levels = append(o.levels, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gwbench:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, warmup time.Duration
	levels           []int
	rounds           int
	logLevel         string
	cpuProfile       string
	scenarios        string
}

// run sets up the targets, measures every scenario at every level and
// prints a Markdown table to out; progress goes to progress.
func run(ctx context.Context, o options, out, progress io.Writer) error {
	tb, err := newTestbed(ctx, o.logLevel)
	if err != nil {
		return err
	}
	defer tb.close()
	fmt.Fprintf(progress, "upstream %s, plain proxy %s, signet gateway %s\n", tb.upstream, tb.plain, tb.gateway)

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var scs []scenario
	for _, sc := range tb.scenarios() {
		if strings.Contains(sc.name(), o.scenarios) {
			scs = append(scs, sc)
		}
	}
	// Each round measures every scenario once, one after the other, so
	// that the drift of a shared machine hits all of them alike; a gateway
	// row's ratio is taken within each round, then the median is reported.
	var results []result
	for _, c := range o.levels {
		rounds := make([][]result, o.rounds)
		for i := range rounds {
			for _, sc := range scs {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				measure(ctx, sc, c, o.warmup) // warm the connection pools, discard
				r := measure(ctx, sc, c, o.duration)
				fmt.Fprintf(progress, "round %d  %-40s c=%-3d %8.0f req/s  p50 %-9v p99 %-9v errors %d\n",
					i+1, sc.name(), c, r.rps, r.p50, r.p99, r.errors)
				if r.firstErr != nil {
					return fmt.Errorf("%s: %w", sc.name(), r.firstErr)
				}
				rounds[i] = append(rounds[i], r)
			}
			relate(rounds[i])
		}
		for j := range scs {
			var rs []result
			for _, round := range rounds {
				rs = append(rs, round[j])
			}
			results = append(results, median(rs))
		}
	}
	printTable(out, results, o)
	return nil
}
