package auth

import (
	"context"
	"time"
)

// padRefusal makes a refused unauthenticated step (registration, recovery
// or credential-code init, a login) last at least RefusalFloor from start. Every
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
	s.padFrom(ctx, start)
}

// padFailure is padRefusal for every error, whatever its code: a login
// answer's 400 (a replay, a malformed answer) takes another path for a
// real user than for a decoy too (Login).
func (s *Service) padFailure(ctx context.Context, start time.Time, err *error) {
	if *err != nil {
		s.padFrom(ctx, start)
	}
}

// padFrom waits until RefusalFloor has passed since start, or ctx ends.
func (s *Service) padFrom(ctx context.Context, start time.Time) {
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

// maxPendingSends bounds the codes being stored and mailed at once in the
// background; the rate limits keep it far from full.
const maxPendingSends = 32

// sendLater stores and mails a code in the background, so that an
// unauthenticated code request answers after the same work whether or not
// a code is sent (its user exists, may receive one, mail is slow or down):
// a mail round trip, or a 500 from a failed delivery, would otherwise tell
// who has an account. Failures are logged. When maxPendingSends are
// already running the code is not sent, and that is logged too.
func (s *Service) sendLater(ctx context.Context, what string, send func(ctx context.Context) error) {
	select {
	case s.sendSlots <- struct{}{}:
	default:
		s.log.WarnContext(ctx, what+" not sent: too many codes being sent")
		return
	}
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer func() { <-s.sendSlots }()
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := send(ctx); err != nil {
			s.log.ErrorContext(ctx, what+" failed", "err", err)
		}
	}()
}
