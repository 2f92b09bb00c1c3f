package httpapi_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// shape is the JSON structure of v with every string, number and bool
// replaced by its type, and arrays by the shape of their elements: two
// answers with the same shape have the same fields, types and nesting.
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = shape(e)
		}
		return out
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		return []any{shape(x[0])}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "?"
}

// TestKnownUnknownTiming: at login/init, registration/init and
// recover/user/init a known user and an unknown one get the same answer
// (status and body shape; the same body for refusals), and the medians of
// their times are logged (docs/abuse.md reports them). The noise is the
// gap between two series of the very same request (the known user twice),
// interleaved with the others in one run. Times are logged, never
// asserted: on a shared machine any bound would flake or be too loose to
// mean anything.
func TestKnownUnknownTiming(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	u, _ := e.newUserWithRecovery()
	type call struct {
		name    string
		refusal bool // a 401 whose whole body must be identical
		do      func(username string) resp
	}
	calls := []call{
		{"login/init", false, func(username string) resp {
			return e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": username})
		}},
		{"registration/init", true, func(username string) resp {
			return e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": u.orgID, "username": username, "registrationCode": "WRONG-CODE"})
		}},
		{"recover/user/init", true, func(username string) resp {
			return e.do("POST", "/auth/recover/user/init", "", map[string]string{"orgId": u.orgID, "username": username, "verificationCode": "WRONG-CODE", "credentialId": "x"})
		}},
	}
	who := []struct{ name, username string }{
		{"known", u.username},
		{"known again", u.username},
		{"unknown", "nobody@example.com"},
	}
	rounds := 45
	if testing.Short() {
		rounds = 5
	}
	times := map[string][]time.Duration{}
	for i := range rounds {
		for _, c := range calls {
			var first resp
			// Each round starts with another of them, so that no series
			// always comes first (the first call after a switch of
			// endpoint is slower).
			for j := range who {
				if i > 0 {
					j = (j + i) % len(who)
				}
				w := who[j]
				start := time.Now()
				r := c.do(w.username)
				times[c.name+"|"+w.name] = append(times[c.name+"|"+w.name], time.Since(start))
				if i > 0 {
					continue
				}
				if j == 0 {
					first = r
					continue
				}
				if r.status != first.status {
					t.Errorf("%s, %s: status %d, the known user gets %d: %s", c.name, w.name, r.status, first.status, r.raw)
				}
				if c.refusal && string(r.raw) != string(first.raw) {
					t.Errorf("%s, %s: %s, the known user gets %s", c.name, w.name, r.raw, first.raw)
				}
				if d := cmp.Diff(shape(first.body), shape(r.body)); d != "" {
					t.Errorf("%s, %s: body shape differs from the known user's (-known +%s):\n%s", c.name, w.name, w.name, d)
				}
			}
		}
	}
	median := func(d []time.Duration) time.Duration {
		d = slices.Clone(d)
		slices.Sort(d)
		return d[len(d)/2]
	}
	for _, c := range calls {
		k, k2, un := median(times[c.name+"|known"]), median(times[c.name+"|known again"]), median(times[c.name+"|unknown"])
		t.Logf("%-18s median known %8v, known again %8v (noise %v), unknown %8v (gap %v), %d rounds",
			c.name+":", k, k2, abs(k-k2), un, abs(un-(k+k2)/2), rounds)
	}
}

func abs(d time.Duration) time.Duration { return max(d, -d) }
