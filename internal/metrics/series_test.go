package metrics

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// TestRequestSeriesCached: a request is counted in the series of its own
// labels whether or not its series was cached, statuses outside 100-599
// share the "other" series, and the cache holds one entry per series.
func TestRequestSeriesCached(t *testing.T) {
	m := New()
	for _, r := range []struct {
		route, method string
		status        int
	}{
		{"upstream /orders/{id}", "GET", 200},
		{"upstream /orders/{id}", "GET", 200},
		{"upstream /orders/{id}", "GET", 404},
		{"upstream /orders/{id}", "PROPFIND", 200},
		{"upstream /orders", "GET", 200},
		{"upstream /orders", "GET", 0},
		{"upstream /orders", "GET", 999},
	} {
		m.ObserveRequest(r.route, r.method, r.status, "", false, time.Millisecond)
	}
	for _, w := range []struct {
		route, method, status string
		n                     float64
	}{
		{"upstream /orders/{id}", "GET", "200", 2},
		{"upstream /orders/{id}", "GET", "404", 1},
		{"upstream /orders/{id}", "other", "200", 1},
		{"upstream /orders", "GET", "200", 1},
		{"upstream /orders", "GET", "other", 2},
	} {
		var c dto.Metric
		if err := m.requests.WithLabelValues(w.route, w.method, w.status).Write(&c); err != nil {
			t.Fatal(err)
		}
		if got := c.GetCounter().GetValue(); got != w.n {
			t.Errorf("requests{%s %s %s} = %v, want %v", w.route, w.method, w.status, got, w.n)
		}
	}
	var h dto.Metric
	if err := m.latency.WithLabelValues("upstream /orders", "GET").(interface{ Write(*dto.Metric) error }).Write(&h); err != nil {
		t.Fatal(err)
	}
	if got := h.GetHistogram().GetSampleCount(); got != 3 {
		t.Errorf("latency{upstream /orders GET} count = %d, want 3", got)
	}
	if len(m.series) != 5 {
		t.Errorf("%d cached series, want 5", len(m.series))
	}
}

// BenchmarkObserveRequest is the metrics' cost of one answered request.
func BenchmarkObserveRequest(b *testing.B) {
	m := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest("upstream /orders/{id}", "GET", 200, "", false, time.Millisecond)
		}
	})
}
