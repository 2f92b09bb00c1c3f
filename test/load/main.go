// Command load is signet's load command: it measures the whole server,
// side by side with the same upstream called directly and through a plain
// httputil.ReverseProxy, on loopback, in one run.
//
//	go run ./test/load                          # the matrix: -d 2s -c 1,16,64 -rounds 5
//	go run ./test/load -postgres 'postgres://postgres@127.0.0.1:5432/load?sslmode=disable'
//	go run ./test/load soak -duration 10m       # memory and goroutines under mixed load
//	go run ./test/load writes                   # durable writes per flow, counted
//	go run ./test/load conns -n 2000            # memory per keep-alive connection, and returned
//
// The matrix: an authenticated GET through signet's gateway, a Key login
// (init + sign + login) and a full signed POST through the gateway (action
// init + sign + complete + POST), at each concurrency level, on SQLite
// synchronous=FULL and NORMAL and on PostgreSQL when a URL is given, each
// next to the plain proxy and the bare upstream measured in the same
// round; rounds are interleaved and each cell reports its median round.
// It prints Markdown tables of ratios, rates and p50/p99.
//
// Writes: each flow n times, one client, counting what the server wrote
// (SQLite: its fsync/fdatasync/pwrite64 calls, by strace; PostgreSQL: rows
// written and transactions, from the server's statistics).
//
// Soak: one signet under a mixed closed-loop load (GET, login, signed
// POST) for -duration, sampling the server process's RSS and goroutine
// count every -every, then saying whether the last half is flat.
//
// Conns: -n keep-alive connections opened to one signet, held idle, then
// closed; RSS and goroutines sampled throughout, reported as the cost per
// connection and the share the process returns (optionally under
// -gomemlimit).
//
// signet is built from ./cmd/signet (or -signet BIN) and runs as `signet
// serve`, in a child process per store; the upstream and the plain proxy
// each run in a child of their own, so the baseline pays the same process
// hop as the gateway. Every server is on loopback, with rate limits off
// when signet has them. Compare rows of one run, not runs of different
// machines or days (PERFORMANCE.md). See docs/load.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if r := role(); r != "" {
		if err := runRole(r); err != nil {
			fmt.Fprintln(os.Stderr, "load targets:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "load:", err)
		}
		os.Exit(1)
	}
}

// runMain parses the command line and runs the matrix or the soak.
func runMain(ctx context.Context, args []string, out, progress io.Writer) error {
	if len(args) > 0 && args[0] == "soak" {
		o, err := soakFlags(args[1:], progress)
		if err != nil {
			return err
		}
		return runSoak(ctx, o, out, progress)
	}
	if len(args) > 0 && args[0] == "conns" {
		return connsMain(ctx, args[1:], out, progress)
	}
	if len(args) > 0 && args[0] == "writes" {
		o, err := writesFlags(args[1:], progress)
		if err != nil {
			return err
		}
		return runWrites(ctx, o, out, progress)
	}
	o, err := matrixFlags(args, progress)
	if err != nil {
		return err
	}
	return runMatrix(ctx, o, out, progress)
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.signetBin, "signet", "", "signet binary to measure (default: go build ./cmd/signet into a temporary directory)")
	fs.StringVar(&c.before, "before", "", "a baseline signet binary (e.g. built from main) to measure beside -signet in the same interleaved rounds, on a database of its own per store")
	fs.StringVar(&c.postgres, "postgres", os.Getenv("SIGNET_LOAD_POSTGRES"), "PostgreSQL URL to measure signet on too (env SIGNET_LOAD_POSTGRES); each run bootstraps a new org there")
	fs.StringVar(&c.logLevel, "log-level", "warn", "signet's log level (info logs every request)")
}

func matrixFlags(args []string, w io.Writer) (matrixOptions, error) {
	var o matrixOptions
	var levels string
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(w)
	o.register(fs)
	fs.DurationVar(&o.duration, "d", 2*time.Second, "measured time per cell")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unmeasured time before each cell (connects each client)")
	fs.StringVar(&levels, "c", "1,16,64", "concurrency levels (clients), comma-separated")
	fs.IntVar(&o.rounds, "rounds", 5, "interleaved rounds; each cell reports its median round")
	fs.StringVar(&o.only, "only", "", "run only the signet cells whose scenario or store contains this (the baselines always run)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (the modes are: none for the matrix, soak, writes, conns)", fs.Arg(0))
	}
	var err error
	if o.levels, err = parseLevels(levels); err != nil {
		return o, err
	}
	if o.rounds < 1 || o.duration <= 0 || o.warmup < 0 {
		return o, errors.New("-rounds must be at least 1 and -d positive")
	}
	return o, nil
}

func parseLevels(s string) ([]int, error) {
	var ls []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("bad concurrency %q", f)
		}
		ls = append(ls, n)
	}
	return ls, nil
}

// tempDir is where one run keeps the signet binary and databases; cleanup
// removes it.
func tempDir() (string, error) { return os.MkdirTemp("", "signet-load-") }

func cleanup(e *env) {
	e.close()
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}
