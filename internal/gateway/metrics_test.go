package gateway_test

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/config"
)

// TestMetricsLabels: requests through the gateway are counted by the route
// file's pattern, unmatched ones under one label, and the path as sent
// never becomes a label.
func TestMetricsLabels(t *testing.T) {
	e := newEnv(t, testRoutes, func(c *config.Config) { c.MetricsListen = "127.0.0.1:0" })
	u := e.newUser()
	e.grant(u, "Orders:Read", "Orders:Create")
	e.do("GET", "/orders/secret-order-77", u.token, nil)
	e.do("GET", "/unrouted/secret-path-99", u.token, nil)
	e.signed(u, "POST", "/orders", `{"item":"pen"}`)
	e.do("GET", "/orders/1", "forged-token-value", nil)

	rec := httptest.NewRecorder()
	e.parts.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`signet_http_requests_total{method="GET",route="upstream /orders/{id}",status="200"} 1`,
		`signet_http_requests_total{method="GET",route="upstream unmatched",status="403"} 1`,
		`signet_http_requests_total{method="POST",route="upstream /orders",status="200"} 1`,
		`signet_http_requests_total{method="GET",route="upstream /orders/{id}",status="401"} 1`,
		`signet_refusals_total{code="unauthenticated",kind="authentication"} 1`,
		"signet_user_actions_spent_total ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The signed POST through the gateway spent one user action, on top of
	// those the set-up spent through signet's own API.
	before := spent(t, text)
	e.signed(u, "POST", "/orders", `{"item":"ink"}`)
	rec = httptest.NewRecorder()
	e.parts.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if after := spent(t, rec.Body.String()); after != before+1 {
		t.Errorf("user actions spent %v -> %v, want +1", before, after)
	}
	for _, bad := range []string{"secret-order", "secret-path", "forged-token", u.token[:16]} {
		if strings.Contains(text, bad) {
			t.Errorf("metrics hold %q", bad)
		}
	}
}

func spent(t *testing.T, text string) float64 {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, "signet_user_actions_spent_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatal("no signet_user_actions_spent_total")
	return 0
}
