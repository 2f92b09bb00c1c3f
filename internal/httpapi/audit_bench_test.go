package httpapi_test

import (
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

// BenchmarkAuditCost is BenchmarkUserActionRoundTrip with the audit log on
// (as servers run) and off (auth.Config.DisableAudit, for this comparison
// only), on each store: the difference is what recording costs one signed
// request (docs/audit.md).
func BenchmarkAuditCost(b *testing.B) {
	for name, open := range stores(nil) {
		for _, mode := range []struct {
			name string
			off  bool
		}{{"recording", false}, {"off", true}} {
			b.Run(name+"/"+mode.name, func(b *testing.B) {
				e := newEnv(b, open(b), func(c *auth.Config) { c.DisableAudit = mode.off })
				u := e.newUser()
				body := `{"credentialUuid":"` + u.credUUID + `"}`
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if r := e.signed(u, "PUT", "/auth/credentials/activate", body); r.status != 200 {
						b.Fatalf("signed request: %d %s", r.status, r.raw)
					}
				}
			})
		}
	}
}
