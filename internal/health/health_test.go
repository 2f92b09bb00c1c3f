package health

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestReadiness: the report names each check; a failing check makes the
// replica unready; checks run at most once per interval however often
// /readyz is asked, and again after it, so readiness comes back.
func TestReadiness(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	runs := 0
	var fail error
	r := New(Options{Interval: time.Second, Now: clock},
		Check{Name: "database", Run: func(context.Context) error { runs++; return fail }},
		Check{Name: "signing_key", Run: func(context.Context) error { return nil }},
	)
	for _, step := range []struct {
		name     string
		advance  time.Duration
		fail     error
		want     string
		database string
		runs     int
	}{
		{"first ask runs the checks", 0, nil, "ready", "ok", 1},
		{"within the interval: the last report", 500 * time.Millisecond, errors.New("disk full"), "ready", "ok", 1},
		{"after the interval: run again, failing", 600 * time.Millisecond, errors.New("disk full"), "unready", "failing", 2},
		{"recovered", 1100 * time.Millisecond, nil, "ready", "ok", 3},
	} {
		advance(step.advance)
		fail = step.fail
		rep := r.Check(t.Context())
		if rep.Status != step.want || rep.Checks["database"] != step.database || rep.Checks["signing_key"] != "ok" || runs != step.runs {
			t.Errorf("%s: %+v after %d runs, want %s, database %s, %d runs", step.name, rep, runs, step.want, step.database, step.runs)
		}
		if rep.Ready() != (step.want == "ready") {
			t.Errorf("%s: Ready() = %v", step.name, rep.Ready())
		}
	}
}

// TestReadinessBounded: a check that hangs is cut off at the timeout and
// reported failing, even when the caller's own context never ends.
func TestReadinessBounded(t *testing.T) {
	r := New(Options{Timeout: 50 * time.Millisecond},
		Check{Name: "database", Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }})
	done := make(chan Report, 1)
	go func() { done <- r.Check(context.Background()) }()
	select {
	case rep := <-done:
		if rep.Ready() || rep.Checks["database"] != "failing" {
			t.Errorf("hanging check: %+v, want unready", rep)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a hanging check was not cut off")
	}
}
