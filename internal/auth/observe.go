package auth

// CacheObserver is told of every lookup in the Service's caches, so an
// adapter (internal/metrics) can publish hit ratios without the domain
// importing a metrics library.
type CacheObserver interface {
	// CacheLookup reports one lookup in cache (CacheVerifiedTokens or
	// CacheOperations) and whether it hit.
	CacheLookup(cache string, hit bool)
}

// The Service's caches, as named to a CacheObserver.
const (
	CacheVerifiedTokens = "verified_tokens"
	CacheOperations     = "operations"
)

// cacheLookup tells the configured CacheObserver, if any, of one lookup.
func (s *Service) cacheLookup(cache string, hit bool) {
	if s.cfg.Caches != nil {
		s.cfg.Caches.CacheLookup(cache, hit)
	}
}
