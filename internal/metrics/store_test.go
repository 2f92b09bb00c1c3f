package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/metrics"
)

// failing answers Principal with the error it is given; every other
// method is the nil embedded interface's (never called here).
type failing struct {
	auth.Store
	err error
}

func (f *failing) Principal(context.Context, string, string) (*auth.PrincipalState, error) {
	return nil, f.err
}

// TestStoreErrors: a failed store call is counted by operation; not found
// is an answer, not an error; every call is timed.
func TestStoreErrors(t *testing.T) {
	m := metrics.New()
	f := &failing{}
	st := m.Store(f)
	for _, err := range []error{errors.New("connection reset"), auth.ErrNotFound, nil, errors.New("timeout")} {
		f.err = err
		if _, got := st.Principal(context.Background(), "or-1", "to-1"); !errors.Is(got, err) && got != err {
			t.Fatalf("wrapper changed the error: %v", got)
		}
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	for _, want := range []string{
		`signet_store_errors_total{op="Principal"} 2`,
		`signet_store_duration_seconds_count{op="Principal"} 4`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
