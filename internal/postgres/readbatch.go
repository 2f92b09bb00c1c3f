package postgres

import (
	"context"
	"sync"
)

// Read coalescing. Every authenticated request reads its token's state by
// primary key (Principal), and spec 12.9 allows no cache of it: a
// deactivation is immediate on every replica. Under concurrency those
// reads cost PostgreSQL an executor start-up and a round trip each, and
// signet a pgx call each. A readBatcher folds the reads that arrive while
// others are in flight into one statement over the arrays of their keys;
// each caller gets its own row, or none.
//
// Linearizable: a caller only ever joins a batch whose statement has not
// been sent, so the snapshot it is answered from is taken after its call
// began and reflects every commit acknowledged before it (a revocation
// included). A caller that finds fewer than inflight statements out runs
// its own statement at once: nobody waits for company. While inflight
// statements are out, arrivals gather into the next batch (at most max
// keys, then another), sent as soon as a statement comes back.
//
// A batch's statement runs under a context of its own, bounded by
// StatementTimeout and cancelled once every caller of the batch has left,
// so one caller's cancellation never fails the others and an abandoned
// batch holds no connection. A batch that fails because the database is
// unavailable gives each caller that error; any other failure sends each
// caller to run its own statement, so a key the server refuses fails its
// caller only.

// readBatcher coalesces reads of keys K into results *V.
type readBatcher[K comparable, V any] struct {
	inflight int // statements out before arrivals gather
	maxKeys  int // distinct keys a batch holds at most
	// one reads a single key (the lone caller's statement, with its own
	// context, and a batch of one distinct key); many reads several
	// distinct keys, its results aligned with keys. nil is not found.
	one  func(ctx context.Context, k K) (*V, error)
	many func(ctx context.Context, keys []K) ([]*V, error)

	mu    sync.Mutex
	out   int                // statements out, lone callers' and batches'
	queue []*readBatch[K, V] // batches gathering, oldest first
	stats readBatchStats
	hooks readBatchHooks
}

// readBatchStats counts what a readBatcher sent (tests and benchmarks read
// it).
type readBatchStats struct {
	alone, batches, keys, callers int64
	retried                       int64 // callers of a failed batch that ran alone
}

// readBatchHooks let tests hold a readBatcher at its decisions; nil in
// production.
type readBatchHooks struct {
	joined    func()      // a caller joined a gathering batch
	afterRead func(n int) // a statement of n keys was answered, before its callers are
}

// readBatch is one batch: gathering while queued, sent once popped.
type readBatch[K comparable, V any] struct {
	keys    []K
	idx     map[K]int
	waiting int // callers still waiting for it
	ctx     context.Context
	cancel  context.CancelFunc

	done  chan struct{} // closed once res, err and alone are set
	res   []*V
	err   error
	alone bool // the batch failed: each caller runs its own statement
}

// newReadBatcher returns a batcher of at most inflight statements out and
// max keys a batch.
func newReadBatcher[K comparable, V any](inflight, maxKeys int, one func(context.Context, K) (*V, error),
	many func(context.Context, []K) ([]*V, error)) *readBatcher[K, V] {
	return &readBatcher[K, V]{inflight: inflight, maxKeys: maxKeys, one: one, many: many}
}

// read returns k's result: nil when not found.
func (b *readBatcher[K, V]) read(ctx context.Context, k K) (*V, error) {
	b.mu.Lock()
	b.stats.callers++
	if b.out < b.inflight {
		b.out++
		b.stats.alone++
		b.mu.Unlock()
		// Bounded as a batch is: while it is out, others may wait for
		// its slot.
		sctx, cancel := context.WithTimeout(ctx, StatementTimeout)
		v, err := b.one(sctx, k)
		cancel()
		if h := b.hooks.afterRead; h != nil {
			h(1)
		}
		b.release()
		return v, err
	}
	bt, i := b.join(k)
	b.mu.Unlock()
	if h := b.hooks.joined; h != nil {
		h()
	}
	select {
	case <-bt.done:
	case <-ctx.Done():
		b.leave(bt)
		return nil, ctx.Err()
	}
	switch {
	case bt.err != nil:
		return nil, bt.err
	case bt.alone:
		b.mu.Lock()
		b.stats.retried++
		b.mu.Unlock()
		return b.one(ctx, k)
	}
	return bt.res[i], nil
}

// join adds k to the newest gathering batch that has room for it, or to a
// new one, and returns the batch and k's position in it. A batch every
// caller left is not joined: its statement's context is cancelled (leave),
// so it would fail and send its new caller to run alone; pop drops it.
// b.mu is held.
func (b *readBatcher[K, V]) join(k K) (*readBatch[K, V], int) {
	var bt *readBatch[K, V]
	if n := len(b.queue); n > 0 && b.queue[n-1].waiting > 0 {
		bt = b.queue[n-1]
	}
	i, ok := 0, false
	if bt != nil {
		i, ok = bt.idx[k]
	}
	if !ok && (bt == nil || len(bt.keys) >= b.maxKeys) {
		ctx, cancel := context.WithCancel(context.Background())
		bt = &readBatch[K, V]{idx: map[K]int{}, ctx: ctx, cancel: cancel, done: make(chan struct{})}
		b.queue = append(b.queue, bt)
	}
	if !ok {
		i = len(bt.keys)
		bt.keys = append(bt.keys, k)
		bt.idx[k] = i
	}
	bt.waiting++
	return bt, i
}

// leave records that a caller of bt stopped waiting; the last one to leave
// cancels bt's statement (or, while it is queued, its sending).
func (b *readBatcher[K, V]) leave(bt *readBatch[K, V]) {
	b.mu.Lock()
	bt.waiting--
	if bt.waiting == 0 {
		bt.cancel()
	}
	b.mu.Unlock()
}

// release returns a statement's slot: to the oldest gathering batch, sent
// by a goroutine of its own, or to the next caller.
func (b *readBatcher[K, V]) release() {
	b.mu.Lock()
	bt := b.pop()
	b.mu.Unlock()
	if bt != nil {
		go b.lead(bt)
	}
}

// pop takes the oldest batch someone still waits for off the queue, or
// gives the slot back when there is none. b.mu is held.
func (b *readBatcher[K, V]) pop() *readBatch[K, V] {
	for len(b.queue) > 0 {
		bt := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		if bt.waiting > 0 {
			return bt
		}
		bt.cancel()
		close(bt.done) // nobody reads it
	}
	b.out--
	return nil
}

// lead sends bt, then the batches that gathered meanwhile, until none is
// left.
func (b *readBatcher[K, V]) lead(bt *readBatch[K, V]) {
	for bt != nil {
		b.send(bt)
		b.mu.Lock()
		bt = b.pop()
		b.mu.Unlock()
	}
}

// send runs bt's statement and answers its callers.
func (b *readBatcher[K, V]) send(bt *readBatch[K, V]) {
	defer bt.cancel()
	ctx, cancel := context.WithTimeout(bt.ctx, StatementTimeout)
	defer cancel()
	b.mu.Lock()
	b.stats.batches++
	b.stats.keys += int64(len(bt.keys))
	b.mu.Unlock()
	var res []*V
	var err error
	if len(bt.keys) == 1 {
		var v *V
		v, err = b.one(ctx, bt.keys[0])
		res = []*V{v}
	} else {
		res, err = b.many(ctx, bt.keys)
	}
	if h := b.hooks.afterRead; h != nil {
		h(len(bt.keys))
	}
	switch {
	case err == nil:
		bt.res = res
	case unavailable(err):
		bt.err = err
	default:
		bt.alone = true
	}
	close(bt.done)
}
