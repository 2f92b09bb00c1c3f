// Package health answers whether this signet replica should get traffic
// (/readyz, issue 12). Liveness (/healthz) needs nothing from here: a
// process that answers HTTP is alive. Readiness runs named checks (a real
// write to the database, pending migrations, the signing key), each within
// a short bound, and at most once per interval however often it is asked,
// so a load balancer polling every replica cannot load the database.
package health

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Check is one named readiness condition. Run returns nil when it holds.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Report is the JSON body of /readyz: "ready" or "unready", and each
// check's "ok" or "failing". Causes go to the log only: /readyz is public.
type Report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// Ready reports whether every check passed.
func (r Report) Ready() bool { return r.Status == "ready" }

// Readiness runs the checks and remembers the last report.
type Readiness struct {
	checks   []Check
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger
	now      func() time.Time

	mu   sync.Mutex // held while checking: concurrent callers share one run
	at   time.Time  // when last was made
	last Report
}

// Options tune a Readiness; zero values take the defaults.
type Options struct {
	// Interval is the least time between two runs of the checks (1s).
	Interval time.Duration
	// Timeout bounds one run of all the checks (2s): a stalled database
	// makes the replica unready within it.
	Timeout time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// New returns a Readiness running checks.
func New(o Options, checks ...Check) *Readiness {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Readiness{checks: checks, interval: o.Interval, timeout: o.Timeout, log: o.Logger, now: o.Now}
}

// Check returns the report of a run made within the interval, or runs the
// checks now. The run is bounded by the timeout, not by ctx, so that a
// caller that gives up early does not make the next caller's report wrong.
func (r *Readiness) Check(ctx context.Context) Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.at.IsZero() && r.now().Sub(r.at) < r.interval {
		return r.last
	}
	run, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	rep := Report{Status: "ready", Checks: make(map[string]string, len(r.checks))}
	for _, c := range r.checks {
		if err := c.Run(run); err != nil {
			rep.Status = "unready"
			rep.Checks[c.Name] = "failing"
			r.log.WarnContext(ctx, "readiness check failed", "check", c.Name, "err", err)
			continue
		}
		rep.Checks[c.Name] = "ok"
	}
	r.at, r.last = r.now(), rep
	return rep
}
