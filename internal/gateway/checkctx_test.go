package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type ctxKey struct{}

// TestCheckContext: the check context behaves as context.WithTimeout,
// whether or not anything armed its timer.
func TestCheckContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		// run gets a fresh check context of deadline d under parent (whose
		// cancel is cancelParent) and checks it.
		d   time.Duration
		run func(t *testing.T, c *checkContext, release, cancelParent func())
	}{
		{"unarmed, live", time.Hour, func(t *testing.T, c *checkContext, release, _ func()) {
			if err := c.Err(); err != nil {
				t.Errorf("Err = %v, want nil", err)
			}
			if c.armed.Load() != nil {
				t.Error("Err armed a live context")
			}
		}},
		{"released without arming", time.Hour, func(t *testing.T, c *checkContext, release, _ func()) {
			release()
			<-c.Done()
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("Err = %v, want Canceled", err)
			}
		}},
		{"released after arming", time.Hour, func(t *testing.T, c *checkContext, release, _ func()) {
			done := c.Done()
			release()
			<-done
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("Err = %v, want Canceled", err)
			}
		}},
		{"armed, deadline passes", time.Millisecond, func(t *testing.T, c *checkContext, _, _ func()) {
			<-c.Done()
			if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Err = %v, want DeadlineExceeded", err)
			}
			if cause := context.Cause(c); !errors.Is(cause, context.DeadlineExceeded) {
				t.Errorf("Cause = %v, want DeadlineExceeded", cause)
			}
		}},
		{"unarmed, deadline passed", 0, func(t *testing.T, c *checkContext, _, _ func()) {
			if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Err = %v, want DeadlineExceeded", err)
			}
			<-c.Done()
			if cause := context.Cause(c); !errors.Is(cause, context.DeadlineExceeded) {
				t.Errorf("Cause = %v, want DeadlineExceeded", cause)
			}
		}},
		{"parent cancelled before arming", time.Hour, func(t *testing.T, c *checkContext, _, cancelParent func()) {
			cancelParent()
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("Err = %v, want Canceled", err)
			}
			<-c.Done()
		}},
		{"parent cancelled after arming", time.Hour, func(t *testing.T, c *checkContext, _, cancelParent func()) {
			done := c.Done()
			cancelParent()
			<-done
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("Err = %v, want Canceled", err)
			}
		}},
		{"derived context sees the deadline", time.Millisecond, func(t *testing.T, c *checkContext, _, _ func()) {
			child, cancel := context.WithCancel(c)
			defer cancel()
			<-child.Done()
			if err := child.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("child Err = %v, want DeadlineExceeded", err)
			}
		}},
		{"derived context sees the release", time.Hour, func(t *testing.T, c *checkContext, release, _ func()) {
			child, cancel := context.WithCancel(c)
			defer cancel()
			release()
			<-child.Done()
		}},
		{"AfterFunc runs at the deadline", time.Millisecond, func(t *testing.T, c *checkContext, _, _ func()) {
			ran := make(chan struct{})
			context.AfterFunc(c, func() { close(ran) })
			<-ran
		}},
		{"values pass through, armed or not", time.Hour, func(t *testing.T, c *checkContext, _, _ func()) {
			if v := c.Value(ctxKey{}); v != "v" {
				t.Errorf("unarmed Value = %v", v)
			}
			c.Done()
			if v := c.Value(ctxKey{}); v != "v" {
				t.Errorf("armed Value = %v", v)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
			defer cancelParent()
			c, release := newCheckContext(parent, tc.d)
			defer release()
			if dl, ok := c.Deadline(); !ok || dl.IsZero() {
				t.Errorf("Deadline = %v, %v", dl, ok)
			}
			tc.run(t, c, release, cancelParent)
		})
	}
}

// TestCheckContextParentDeadline: a sooner deadline of the parent is the
// check context's.
func TestCheckContextParentDeadline(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pd, _ := parent.Deadline()
	c, release := newCheckContext(parent, time.Hour)
	defer release()
	if dl, _ := c.Deadline(); !dl.Equal(pd) {
		t.Errorf("Deadline = %v, want the parent's %v", dl, pd)
	}
}

// TestCheckContextConcurrent arms, reads and releases from several
// goroutines at once (run with -race).
func TestCheckContextConcurrent(t *testing.T) {
	for range 100 {
		c, release := newCheckContext(context.Background(), time.Hour)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				_ = c.Err()
				_ = c.Value(ctxKey{})
				<-func() <-chan struct{} {
					ch := c.Done()
					return ch
				}()
			})
		}
		release()
		wg.Wait()
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err = %v, want Canceled", err)
		}
	}
}
