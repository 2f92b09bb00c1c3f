package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// RedisConfig configures a Redis Limiter.
type RedisConfig struct {
	// URL is redis://[user:password@]host:port[/db] (or rediss:// for TLS).
	URL string
	// Prefix starts every key signet writes ("signet:" by default), so
	// several deployments (or tests) can share one Redis.
	Prefix string
	// Timeout bounds one round trip to Redis (default 100ms): a request
	// never waits longer than this for its decision.
	Timeout time.Duration
	// RetryEvery is how long a replica that lost Redis decides locally
	// before it tries Redis again (default 2s).
	RetryEvery time.Duration
	// Local decides while Redis is unreachable (a new Local by default).
	Local  *Local
	Logger *slog.Logger
}

// Redis is a Limiter shared by every replica through one Redis, with
// redis_rate's GCRA script (one atomic round trip per decision). When
// Redis cannot be reached it degrades to this replica's Local limits with
// a logged warning, never to no limits and never to refusing everyone, and
// goes back to Redis once Redis answers again.
type Redis struct {
	client  *redis.Client
	limiter *redis_rate.Limiter
	prefix  string
	timeout time.Duration
	retry   time.Duration
	local   *Local
	log     *slog.Logger
	now     func() time.Time

	mu        sync.Mutex
	degraded  bool
	nextRetry time.Time
}

// NewRedis connects a shared Limiter to the Redis at cfg.URL. It does not
// wait for Redis: an unreachable Redis at start-up means local limits
// until it comes.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: redis URL: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = 2 * time.Second
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "signet:"
	}
	if cfg.Local == nil {
		cfg.Local = NewLocal(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
	opt.PoolTimeout = cfg.Timeout
	opt.MaxRetries = -1 // a decision is retried by falling back, not by waiting
	c := redis.NewClient(opt)
	return &Redis{client: c, limiter: redis_rate.NewLimiter(c), prefix: cfg.Prefix, timeout: cfg.Timeout,
		retry: cfg.RetryEvery, local: cfg.Local, log: cfg.Logger, now: time.Now}, nil
}

// Close closes the connections to Redis.
func (r *Redis) Close() error { return r.client.Close() }

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) Decision {
	if !r.tryRedis() {
		return r.local.Allow(ctx, key, l)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.limiter.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: l.Rate, Period: l.Period, Burst: l.Burst})
	if err != nil {
		if ctx.Err() != nil && context.Cause(ctx) == context.Canceled {
			// The client went away; say nothing about Redis.
			return r.local.Allow(ctx, key, l)
		}
		r.lost(err)
		return r.local.Allow(ctx, key, l)
	}
	r.reached()
	if res.Allowed > 0 {
		return Decision{Allowed: true}
	}
	return Decision{RetryAfter: res.RetryAfter}
}

// tryRedis reports whether this decision should go to Redis: always while
// Redis answers, once per RetryEvery while it does not.
func (r *Redis) tryRedis() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.degraded {
		return true
	}
	now := r.now()
	if now.Before(r.nextRetry) {
		return false
	}
	r.nextRetry = now.Add(r.retry)
	return true
}

func (r *Redis) lost(err error) {
	r.mu.Lock()
	was := r.degraded
	r.degraded, r.nextRetry = true, r.now().Add(r.retry)
	r.mu.Unlock()
	if !was {
		r.log.Warn("rate limit: Redis unreachable, limits are per replica until it answers again", "err", err)
	}
}

func (r *Redis) reached() {
	r.mu.Lock()
	was := r.degraded
	r.degraded = false
	r.mu.Unlock()
	if was {
		r.log.Warn("rate limit: Redis answers again, limits are shared again")
	}
}

// Degraded reports whether r is deciding locally because Redis is away.
func (r *Redis) Degraded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.degraded
}
