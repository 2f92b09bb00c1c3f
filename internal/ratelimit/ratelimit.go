// Package ratelimit adapts rate limiting to signet: a Limit (how many
// requests a key may make, and how fast it earns them back), a Limiter that
// decides per key with the generic cell rate algorithm (GCRA), kept in
// memory on one node (Local) or shared by every replica through Redis
// (Redis, with go-redis/redis_rate), and the client address of a request
// behind trusted proxies. It knows nothing of routes or identities:
// internal/httpapi chooses the keys and the limits (see docs/abuse.md).
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit lets a key make Burst requests at once and earn them back at Rate
// per Period: at most Rate requests in any Period once the burst is spent.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// String gives the limit in the form ParseLimit reads.
func (l Limit) String() string {
	if l.Burst == l.Rate {
		return fmt.Sprintf("%d/%s", l.Rate, l.Period)
	}
	return fmt.Sprintf("%d/%s,burst=%d", l.Rate, l.Period, l.Burst)
}

// emission is the time in which the key earns back one request.
func (l Limit) emission() time.Duration { return l.Period / time.Duration(l.Rate) }

// ParseLimit reads "N/PERIOD" (N requests per Go duration PERIOD, and a
// burst of N), optionally followed by ",burst=B": "300/1m", "100/1s,burst=20".
func ParseLimit(s string) (Limit, error) {
	bad := func(why string) (Limit, error) {
		return Limit{}, fmt.Errorf("rate limit %q: %s (want N/PERIOD such as 300/1m, optionally ,burst=B)", s, why)
	}
	spec, burst, hasBurst := strings.Cut(s, ",")
	n, per, ok := strings.Cut(strings.TrimSpace(spec), "/")
	if !ok {
		return bad("missing /")
	}
	rate, err := strconv.Atoi(n)
	if err != nil || rate < 1 || rate > 1_000_000_000 {
		return bad("N must be a whole number from 1")
	}
	period, err := time.ParseDuration(per)
	if err != nil || period < time.Millisecond || period > 24*time.Hour {
		return bad("PERIOD must be a duration from 1ms to 24h")
	}
	if period/time.Duration(rate) < time.Nanosecond {
		return bad("rate too high")
	}
	l := Limit{Rate: rate, Period: period, Burst: rate}
	if hasBurst {
		v, ok := strings.CutPrefix(strings.TrimSpace(burst), "burst=")
		b, err := strconv.Atoi(v)
		if !ok || err != nil || b < 1 || b > 1_000_000_000 {
			return bad("burst must be burst=B with B a whole number from 1")
		}
		l.Burst = b
	}
	return l, nil
}

// Decision is a Limiter's answer for one request.
type Decision struct {
	Allowed bool
	// RetryAfter is, when refused, how long until the key may try again.
	RetryAfter time.Duration
}

// Limiter decides whether the request of key fits its limit, and counts it
// if it does. A Limiter never fails: a shared one that cannot reach its
// backend decides locally.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) Decision
}
