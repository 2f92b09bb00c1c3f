package sqlite

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// raceReads runs 8 readers against rounds writes: write(i) makes round i,
// read returns the oldest round its answer shows, and settle runs after
// each write (to let readers cache the new state). A read that started
// after write(i) returned must show round i or later (run with -race).
func raceReads(t *testing.T, rounds int64, write func(i int64) error, read func() (int64, error), settle func() error) {
	t.Helper()
	const readers = 8
	var published atomic.Int64 // the last round whose write returned
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, readers)
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				min := published.Load()
				got, err := read()
				if err != nil {
					errs <- err
					return
				}
				if got < min {
					errs <- fmt.Errorf("a read started after round %d returned answered round %d", min, got)
					return
				}
			}
		})
	}
	for i := int64(1); i <= rounds; i++ {
		if err := write(i); err != nil {
			t.Fatal(err)
		}
		published.Store(i)
		if err := settle(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
