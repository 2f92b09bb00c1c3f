package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/metrics"
	"github.com/signet-auth/signet/internal/server"
)

// scrape fetches url and parses the text exposition format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("exposition format: %v", err)
	}
	return fams
}

// value returns the counter value (or histogram sample count) of the
// series of family name whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	var sum float64
	found := false
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		}
	}
	if !found {
		return -1
	}
	return sum
}

func TestScrape(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Database = "sqlite:" + filepath.Join(dir, "signet.db")
	cfg.KeyFile = filepath.Join(dir, "signet.key")
	cfg.MetricsListen = "127.0.0.1:0"
	log := slog.New(slog.DiscardHandler)
	parts, err := server.Assemble(ctx, &cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer parts.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	mln, _ := net.Listen("tcp", "127.0.0.1:0")
	parts.MetricsListener = mln
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, parts, log) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()
	metricsURL := "http://" + mln.Addr().String() + "/metrics"

	// The metrics are not on the API listener.
	if res, err := http.Get(base + "/metrics"); err != nil || res.StatusCode != 404 {
		t.Fatalf("API listener /metrics: %v %v", res, err)
	}

	// A user registers, logs in, makes a signed call (spends a user
	// action), reads twice (a cache hit), and is refused without a token
	// and with a forged one. Strings a caller controls are sent in paths,
	// methods and tokens; none may show in a label.
	const secretPath = "/nope/sEcReT-PATH-42"
	const forged = "eyJhbGciOiJFZERTQSJ9.Zm9yZ2VkLXRva2VuLXNlY3JldA.c2ln"
	b, err := parts.Service.Bootstrap(ctx, "acme", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := client.GenerateKey(client.ES256)
	key, _ := client.NewKeySigner("ann-key", priv)
	c, _ := client.New(base)
	if _, err := c.Register(ctx, client.RegistrationInitRequest{OrgID: b.Org.ID, Username: b.User.Username, RegistrationCode: b.Code}, key); err != nil {
		t.Fatal(err)
	}
	login, err := c.Login(ctx, client.LoginInitRequest{OrgID: b.Org.ID, Username: b.User.Username}, key)
	if err != nil {
		t.Fatal(err)
	}
	ann := c.With(client.WithToken(login.Token), client.WithSigner(key))
	if _, err := ann.CreateUser(ctx, client.CreateUserRequest{Email: "bob@example.com", Kind: "CustomerEmployee"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := ann.ListUsers(ctx, client.ListUsersRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	send := func(method, path, tok string) {
		req, _ := http.NewRequest(method, base+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	send("GET", "/auth/users", "")
	send("GET", "/auth/users", forged)
	send("GET", secretPath, "")
	send("BREW", "/auth/users", "")
	// A signed route called without a user action.
	send("POST", "/auth/users", login.Token)

	fams := scrape(t, metricsURL)
	checks := []struct {
		name   string
		family string
		labels map[string]string
		min    float64
	}{
		{"healthy GETs by pattern", "signet_http_requests_total", map[string]string{"route": "/auth/users", "method": "GET", "status": "200"}, 2},
		{"unmatched route, one label", "signet_http_requests_total", map[string]string{"route": metrics.Unmatched, "status": "404"}, 1},
		{"unknown method bucketed", "signet_http_requests_total", map[string]string{"route": "/auth/users", "method": "other"}, 1},
		{"latency histogram", "signet_http_request_duration_seconds", map[string]string{"route": "/auth/login", "method": "POST"}, 1},
		{"authentication refusals", "signet_refusals_total", map[string]string{"kind": "authentication", "code": "unauthenticated"}, 2},
		{"user-action refusals", "signet_refusals_total", map[string]string{"kind": "user_action", "code": "action_invalid"}, 1},
		{"user actions spent", "signet_user_actions_spent_total", nil, 1},
		{"store latency", "signet_store_duration_seconds", map[string]string{"op": "Principal"}, 1},
		{"store latency of a spend", "signet_store_duration_seconds", map[string]string{"op": "SpendActionForChallenge"}, 1}, // the SDK signs with RFC 9421
		{"token cache miss", "signet_cache_lookups_total", map[string]string{"cache": "verified_tokens", "result": "miss"}, 1},
		{"token cache hit", "signet_cache_lookups_total", map[string]string{"cache": "verified_tokens", "result": "hit"}, 1},
		{"operations cache", "signet_cache_lookups_total", map[string]string{"cache": "operations"}, 1},
		{"build info", "signet_build_info", nil, 1},
		{"go runtime", "go_goroutines", nil, 1},
	}
	for _, tc := range checks {
		if got := value(fams, tc.family, tc.labels); got < tc.min {
			t.Errorf("%s: %s%v = %v, want >= %v", tc.name, tc.family, tc.labels, got, tc.min)
		}
	}
	if fams["signet_http_request_duration_seconds"].GetType() != dto.MetricType_HISTOGRAM {
		t.Error("latency is not a histogram")
	}
	if value(fams, "signet_store_errors_total", nil) > 0 {
		t.Error("store errors counted on a healthy store")
	}

	// No label holds a token, a path as sent, or a method as sent.
	for name, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				v := l.GetValue()
				for _, bad := range []string{"sEcReT", "nope", "BREW", forged[:20], login.Token[:20], b.Org.ID, b.User.ID, "ann@"} {
					if strings.Contains(v, bad) {
						t.Errorf("%s label %s=%q holds a caller's string", name, l.GetName(), v)
					}
				}
			}
		}
	}
}

// TestRateLimitedAndStoreErrors: the refusal kinds the server above cannot
// produce on this branch (no rate limiter, a healthy store) are counted
// from the error model's codes.
func TestRateLimitedAndStoreErrors(t *testing.T) {
	m := metrics.New()
	m.ObserveRequest("/auth/login", "POST", 429, "rate_limited", false, time.Millisecond)
	m.ObserveRequest("/auth/users", "GET", 403, "forbidden", false, time.Millisecond)
	m.ObserveRequest("/auth/users", "POST", 400, "action_used", true, time.Millisecond)
	m.ObserveRequest("/auth/users", "GET", 400, "invalid", false, time.Millisecond)
	m.ObserveRequest("/auth/users", "GET", 999, "", false, time.Millisecond)
	m.CacheLookup("attacker-chosen", true)

	srv := &http.Server{Handler: m.Handler()}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	fams := scrape(t, "http://"+ln.Addr().String()+"/")
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"kind": "rate_limit", "code": "rate_limited"}, 1},
		{map[string]string{"kind": "authorization", "code": "forbidden"}, 1},
		{map[string]string{"kind": "user_action", "code": "action_used"}, 1},
		{map[string]string{"code": "invalid"}, -1}, // bad input is not a refusal
	} {
		if got := value(fams, "signet_refusals_total", tc.labels); got != tc.want {
			t.Errorf("refusals%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if got := value(fams, "signet_http_requests_total", map[string]string{"status": "other"}); got != 1 {
		t.Errorf("out-of-range status not bucketed: %v", got)
	}
	if got := value(fams, "signet_cache_lookups_total", map[string]string{"cache": "other"}); got != 1 {
		t.Errorf("unknown cache name not bucketed: %v", got)
	}
	if got := value(fams, "signet_user_actions_spent_total", nil); got != 1 {
		t.Errorf("spent = %v", got)
	}
}
