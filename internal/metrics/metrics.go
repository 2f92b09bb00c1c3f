// Package metrics publishes signet's Prometheus metrics: requests by route
// pattern and status, latency, refusals by reason, user actions spent,
// store latency and errors, cache hit ratios and build information, on a
// listener of their own (--metrics-listen).
//
// It is an adapter: internal/httpapi and internal/gateway report each
// answered request to it through small interfaces they define, the domain
// (internal/auth) reports cache lookups through auth.CacheObserver, and the
// store is observed from the outside (Store). Nothing here decides anything.
//
// Label values come only from fixed sets: route patterns of the route
// table or the gateway's route file (unmatched requests get "unmatched"),
// known methods (others are "other"), status numbers, error codes of the
// one error model, store operation names. No label ever holds a token, a
// path as sent, or any other string a caller controls.
package metrics

import (
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signet-auth/signet/internal/auth"
)

// Unmatched is the route label of a request no route matched.
const Unmatched = "unmatched"

// Metrics holds signet's collectors in a registry of its own (no global
// state). It is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	refusals     *prometheus.CounterVec
	actions      prometheus.Counter
	storeLatency *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
	cache        *prometheus.CounterVec

	// series caches the request counter and latency histogram of each
	// (route, method, status) seen, so that a request costs no label
	// hashing and no lookup in the vectors (issue 13). It holds at most the
	// series the vectors hold: label values come from fixed sets.
	seriesMu sync.RWMutex
	series   map[seriesKey]requestSeries
}

// seriesKey is the labels of one request series (method already passed
// through knownMethod).
type seriesKey struct {
	route, method string
	status        int
}

// requestSeries is the request counter and latency histogram of a
// seriesKey.
type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// New creates and registers every collector, with the Go runtime's and
// the process's.
func New() *Metrics {
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		series: map[seriesKey]requestSeries{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_http_requests_total",
			Help: "Requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "signet_http_request_duration_seconds",
			Help:    "Time to answer a request, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_refusals_total",
			Help: "Requests refused, by kind (authentication, user_action, authorization, rate_limit) and error code.",
		}, []string{"kind", "code"}),
		actions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "signet_user_actions_spent_total",
			Help: "User-action tokens spent by requests (each is single use).",
		}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "signet_store_duration_seconds",
			Help:    "Time of a store (database) call, by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 5},
		}, []string{"op"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_store_errors_total",
			Help: "Store calls that failed, by operation (not found and duplicate are answers, not errors).",
		}, []string{"op"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_cache_lookups_total",
			Help: "Cache lookups by cache and result (hit or miss); hit ratio = hit / (hit + miss).",
		}, []string{"cache", "result"}),
	}
	version, revision := buildInfo()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "signet_build_info",
		Help:        "Always 1; the labels say which signet is running.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion()},
	})
	build.Set(1)
	m.reg.MustRegister(m.requests, m.latency, m.refusals, m.actions, m.storeLatency, m.storeErrors, m.cache, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveRequest records one answered request: route is its route pattern
// (or Unmatched), code the error code of a refusal ("" when it succeeded),
// spent whether it spent a user action.
func (m *Metrics) ObserveRequest(route, method string, status int, code string, spent bool, d time.Duration) {
	rs := m.requestSeries(route, knownMethod(method), status)
	rs.count.Inc()
	rs.latency.Observe(d.Seconds())
	if spent {
		m.actions.Inc()
	}
	if kind := refusalKind(auth.Code(code)); kind != "" {
		m.refusals.WithLabelValues(kind, code).Inc()
	}
}

// requestSeries returns the series of (route, method, status), looked up
// in the vectors the first time only.
func (m *Metrics) requestSeries(route, method string, status int) requestSeries {
	if status < 100 || status > 599 {
		status = 0 // one key for every status statusLabel calls "other"
	}
	k := seriesKey{route, method, status}
	m.seriesMu.RLock()
	rs, ok := m.series[k]
	m.seriesMu.RUnlock()
	if ok {
		return rs
	}
	rs = requestSeries{
		count:   m.requests.WithLabelValues(route, method, statusLabel(status)),
		latency: m.latency.WithLabelValues(route, method),
	}
	m.seriesMu.Lock()
	m.series[k] = rs
	m.seriesMu.Unlock()
	return rs
}

// CacheLookup implements auth.CacheObserver.
func (m *Metrics) CacheLookup(cache string, hit bool) {
	switch cache {
	case auth.CacheVerifiedTokens, auth.CacheOperations:
	default:
		cache = "other"
	}
	result := "miss"
	if hit {
		result = "hit"
	}
	m.cache.WithLabelValues(cache, result).Inc()
}

var _ auth.CacheObserver = (*Metrics)(nil)

// refusalKind groups the error codes that refuse a caller; "" for the
// others (bad input, not found, internal...), which requests_total counts
// by status.
func refusalKind(c auth.Code) string {
	switch c {
	case auth.Unauthenticated:
		return "authentication"
	case auth.ActionInvalid, auth.ActionUsed:
		return "user_action"
	case auth.Forbidden:
		return "authorization"
	case auth.RateLimited:
		return "rate_limit"
	}
	return ""
}

func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func statusLabel(s int) string {
	if s < 100 || s > 599 {
		return "other"
	}
	return strconv.Itoa(s)
}

// buildInfo returns the main module's version and VCS revision.
func buildInfo() (version, revision string) {
	version, revision = "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			revision = s.Value
		}
	}
	return
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}
