package main

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"sync"
	"time"
)

// op is one operation of a scenario, made with the client's own HTTP
// client: one request, or the several of a login or a signed request. It
// returns the latency of its last request (for the signed POST: the signed
// request alone).
type op func(ctx context.Context, c *http.Client) (last time.Duration, err error)

// newClients returns n HTTP clients, each with its own transport limited
// to one connection: every load client keeps its own keep-alive
// connection, as n separate callers would.
func newClients(n int) []*http.Client {
	cs := make([]*http.Client, n)
	for i := range cs {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		t.MaxConnsPerHost = 1
		t.MaxIdleConnsPerHost = 1
		t.DisableCompression = true
		cs[i] = &http.Client{Transport: t, Timeout: 30 * time.Second}
	}
	return cs
}

func closeClients(cs []*http.Client) {
	for _, c := range cs {
		c.CloseIdleConnections()
	}
}

// sample is what a closed loop of clients measured.
type sample struct {
	ops, errors      int
	firstErr         error
	rps              float64       // completed operations per second
	p50, p99         time.Duration // of a whole operation
	lastP50, lastP99 time.Duration // of its last request
	cpuPerOp         time.Duration // the server's CPU time per operation; 0 = not measured
}

// run drives o in a closed loop on every client for d: each client sends
// its next operation as soon as the last one is answered.
func run(ctx context.Context, o op, clients []*http.Client, d time.Duration) sample {
	type worker struct {
		lat, last []time.Duration
		errors    int
		firstErr  error
	}
	ws := make([]worker, len(clients))
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range ws {
		w, c := &ws[i], clients[i]
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				last, err := o(context.WithoutCancel(ctx), c) // let the last operation finish
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
	var s sample
	var lat, last []time.Duration
	for _, w := range ws {
		lat = append(lat, w.lat...)
		last = append(last, w.last...)
		s.errors += w.errors
		if s.firstErr == nil {
			s.firstErr = w.firstErr
		}
	}
	s.ops = len(lat)
	s.rps = float64(s.ops) / elapsed.Seconds()
	s.p50, s.p99 = percentiles(lat)
	s.lastP50, s.lastP99 = percentiles(last)
	return s
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[len(d)*50/100], d[min(len(d)-1, len(d)*99/100)]
}

// medianOf returns the median round of one cell by throughput (its
// latencies come with it; the upper middle one of an even count), with the
// median of the rounds' ratios and the errors of all rounds.
func medianOf(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int { return cmp.Compare(a.rps, b.rps) })
	m := s[len(s)/2]
	slices.SortFunc(s, func(a, b result) int { return cmp.Compare(a.ratio, b.ratio) })
	m.ratio = s[len(s)/2].ratio
	if len(s)%2 == 0 {
		m.ratio = (s[len(s)/2-1].ratio + m.ratio) / 2
	}
	m.errors = 0
	for _, r := range rs {
		m.errors += r.errors
	}
	return m
}
