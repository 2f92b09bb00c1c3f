package auth

import (
	"context"
	"time"
)

// padRefusal makes a refused unauthenticated step (registration, recovery
// or credential-code init) last at least RefusalFloor from start. Every
// refusal already carries the same status and body (errUnauthenticated)
// and does the same store work where it can; but a wrong code against a
// user who holds one costs a durable write (its guess is counted) that a
// refusal of an unknown user cannot match, and that is a fsync apart.
// The floor hides that difference, and every other, as long as the
// refusal's work fits in it (docs/abuse.md gives the medians). Success is
// not padded: it needs the code, so its time tells its holder nothing new.
// Call it deferred, with the named error result:
//
//	defer s.padRefusal(ctx, time.Now(), &err)
func (s *Service) padRefusal(ctx context.Context, start time.Time, err *error) {
	if *err == nil || ErrorCode(*err) != Unauthenticated {
		return
	}
	wait := s.cfg.RefusalFloor - time.Since(start)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
