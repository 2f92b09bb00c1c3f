package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// checkContext is context.WithTimeout(parent, d) for signet's checks of a
// guarded request, except that its timer and channel are made only when
// something waits on it (the first Done, or Err once the deadline has
// passed). A GET whose token, principal and operations are answered from
// memory never waits, so it arms no timer and allocates no timerCtx (issue
// 13, the one-client GET). A store call that does wait (database/sql,
// PostgreSQL, the SQLite writer) calls Done and gets a real deadline
// context, with the same deadline: the bound on the checks is unchanged.
//
// Err reports the deadline even when nothing armed it, and the parent's
// cancellation; Value is the parent's, and once armed, the armed
// context's (so that context.Cause and contexts derived from this one see
// the armed context's cancellation). release is the CancelFunc: after it,
// Done is closed and Err is context.Canceled, as after a WithTimeout's
// cancel.
type checkContext struct {
	parent   context.Context
	deadline time.Time

	armed    atomic.Pointer[armedContext] // nil until armed
	released atomic.Bool
	mu       sync.Mutex // serialises arming and release
}

// armedContext is the real deadline context of an armed checkContext.
type armedContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// newCheckContext returns a checkContext with parent's values and
// cancellation and a deadline d from now (or parent's, if sooner), and the
// function that releases it.
func newCheckContext(parent context.Context, d time.Duration) (*checkContext, func()) {
	c := new(checkContext).start(parent, d)
	return c, c.release
}

// start sets up c, a zero checkContext (one embedded in a larger
// allocation), as newCheckContext does, and returns it; c.release is its
// CancelFunc.
func (c *checkContext) start(parent context.Context, d time.Duration) *checkContext {
	c.parent, c.deadline = parent, time.Now().Add(d)
	if pd, ok := parent.Deadline(); ok && pd.Before(c.deadline) {
		c.deadline = pd
	}
	return c
}

// armedChecks counts the check contexts armed, for the tests that a GET
// answered from memory arms none.
var armedChecks atomic.Int64

// closedChan is the Done channel of a released context that was never armed.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// arm makes the real deadline context, once; after release it is made
// cancelled.
func (c *checkContext) arm() *armedContext {
	if a := c.armed.Load(); a != nil {
		return a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.armed.Load(); a != nil {
		return a
	}
	armedChecks.Add(1)
	ctx, cancel := context.WithDeadline(c.parent, c.deadline)
	if c.released.Load() {
		cancel()
	}
	a := &armedContext{ctx: ctx, cancel: cancel}
	c.armed.Store(a)
	return a
}

// release cancels the context, as a WithTimeout's CancelFunc does: it stops
// the timer if one was armed.
func (c *checkContext) release() {
	c.mu.Lock()
	c.released.Store(true)
	a := c.armed.Load()
	c.mu.Unlock()
	if a != nil {
		a.cancel()
	}
}

// Deadline implements context.Context.
func (c *checkContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context: it arms the deadline.
func (c *checkContext) Done() <-chan struct{} {
	if c.armed.Load() == nil && c.released.Load() {
		return closedChan
	}
	return c.arm().ctx.Done()
}

// Err implements context.Context.
func (c *checkContext) Err() error {
	if a := c.armed.Load(); a != nil {
		return a.ctx.Err()
	}
	if c.released.Load() {
		return context.Canceled
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		// Past the deadline: arm, so that Done, Err and Cause agree from
		// now on (the armed context is born expired).
		return c.arm().ctx.Err()
	}
	return nil
}

// Value implements context.Context.
func (c *checkContext) Value(key any) any {
	if a := c.armed.Load(); a != nil {
		return a.ctx.Value(key)
	}
	return c.parent.Value(key)
}

// String names the context in panics and logs, like the standard ones.
func (c *checkContext) String() string { return "gateway.checkContext" }
