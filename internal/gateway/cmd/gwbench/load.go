package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"
)

// result is one scenario at one concurrency level.
type result struct {
	scenario
	concurrency int
	ops         int
	errors      int
	firstErr    error
	rps         float64       // completed operations per second
	p50, p99    time.Duration // of a whole operation
	// lastP50/lastP99 are the latencies of the operation's last request:
	// for the signed POST, the signed request alone.
	lastP50, lastP99 time.Duration
	// ratio is rps relative to the plain proxy of the same method in the
	// same round; 0 when there is none.
	ratio float64
}

// measure runs sc on c workers for d and summarises the latencies.
func measure(ctx context.Context, sc scenario, c int, d time.Duration) result {
	type worker struct {
		lat, last []time.Duration
		errors    int
		firstErr  error
	}
	ws := make([]worker, c)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				last, err := sc.op(context.WithoutCancel(ctx)) // let the last request finish
				if err != nil {
					w.errors++
					if w.firstErr == nil {
						w.firstErr = err
					}
					continue
				}
				w.lat = append(w.lat, time.Since(t0))
				w.last = append(w.last, last)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := result{scenario: sc, concurrency: c}
	var lat, last []time.Duration
	for _, w := range ws {
		lat = append(lat, w.lat...)
		last = append(last, w.last...)
		r.errors += w.errors
		if r.firstErr == nil {
			r.firstErr = w.firstErr
		}
	}
	r.ops = len(lat)
	r.rps = float64(r.ops) / elapsed.Seconds()
	r.p50, r.p99 = percentiles(lat)
	r.lastP50, r.lastP99 = percentiles(last)
	return r
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[len(d)*50/100], d[min(len(d)-1, len(d)*99/100)]
}

// relate sets the ratio of every result of one round that is not itself
// the plain proxy.
func relate(round []result) {
	base := map[string]float64{}
	for _, r := range round {
		if r.target == plain {
			base[r.method] = r.rps
		}
	}
	for i, r := range round {
		if p := base[r.method]; p > 0 && r.target != plain {
			round[i].ratio = r.rps / p
		}
	}
}

// median returns the median round of one cell by throughput, with the
// median ratio of the rounds.
func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int { return cmp.Compare(a.rps, b.rps) })
	m := s[len(s)/2]
	slices.SortFunc(s, func(a, b result) int { return cmp.Compare(a.ratio, b.ratio) })
	m.ratio = s[len(s)/2].ratio
	return m
}

// printTable writes the results as Markdown.
func printTable(out io.Writer, rs []result, o options) {
	fmt.Fprintf(out, "GOMAXPROCS=%d, %s/%s, %s, %v per cell, median of %d interleaved rounds\n\n",
		runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), o.duration, o.rounds)
	fmt.Fprintln(out, "| scenario | clients | req/s | p50 | p99 | vs plain proxy |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		ratio := ""
		if r.ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.ratio)
		}
		fmt.Fprintf(out, "| %s | %d | %.0f | %s | %s | %s |\n", r.name(), r.concurrency, r.rps, ms(r.p50), ms(r.p99), ratio)
		if r.method == "POST" && r.target == guarded {
			fmt.Fprintf(out, "| ↳ of which the signed request alone | %d | | %s | %s | |\n", r.concurrency, ms(r.lastP50), ms(r.lastP99))
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
