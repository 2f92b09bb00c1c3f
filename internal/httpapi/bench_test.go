package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signet-auth/signet/internal/cputime"
	"github.com/signet-auth/signet/internal/sqlite"
)

// BenchmarkUserActionRoundTrip measures one complete signed request as the
// SDK makes it: action init, sign, action complete, then the signed request
// itself, over loopback HTTP, on each store.
func BenchmarkUserActionRoundTrip(b *testing.B) {
	for name, open := range stores(nil) {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, open(b))
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

// BenchmarkAuthenticatedGET measures a GET with bearer verification
// (signature, then the per-request revocation check in the store).
func BenchmarkAuthenticatedGET(b *testing.B) {
	for name, open := range stores(nil) {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, open(b))
			u := e.newUser()
			req := httptest.NewRequest("GET", "/auth/credentials", nil)
			req.Header.Set("Authorization", "Bearer "+u.token)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				e.api.ServeHTTP(w, req)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "items") {
					b.Fatalf("GET: %d", w.Code)
				}
			}
		})
	}
}

// BenchmarkLogin measures a complete login (init, sign, complete) over
// loopback HTTP, client signing included.
func BenchmarkLogin(b *testing.B) {
	for name, open := range stores(nil) {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, open(b))
			u := e.newUser()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.login(u, u.signer)
			}
		})
	}
}

// BenchmarkLoginParallel: Key logins (login init, the client signs the
// challenge, login) over loopback HTTP from 16 callers on SQLite FULL, the
// load command's "Key login" cell in process. cpu-us/op is the process's
// user+system time per login: signet's and the client's (its ECDSA
// signature, its JSON, its HTTP), whose share does not change with
// signet's code, so a difference between two builds is signet's.
func BenchmarkLoginParallel(b *testing.B) {
	e := newEnv(b, stores(nil)["sqlite"](b))
	u := e.newUser()
	// Each caller keeps its connection, as the load command's do.
	if tr, ok := http.DefaultTransport.(*http.Transport); ok && tr.MaxIdleConnsPerHost < 32 {
		old := tr.MaxIdleConnsPerHost
		tr.MaxIdleConnsPerHost = 32
		b.Cleanup(func() { tr.MaxIdleConnsPerHost = old })
	}
	b.SetParallelism(8) // 16 callers at GOMAXPROCS=2
	b.ReportAllocs()
	cpuPerOp := cputime.Meter(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.login(u, u.signer)
		}
	})
	b.StopTimer()
	cpuPerOp()
}

// BenchmarkConcurrency measures an authenticated GET and a complete signed
// request with 1, 16 and 64 concurrent clients (each its own session), so
// the figures show how cost grows with load.
func BenchmarkConcurrency(b *testing.B) {
	for name, open := range stores(nil) {
		for _, clients := range []int{1, 16, 64} {
			e := newEnv(b, open(b))
			users := make([]*user, 0, clients)
			u := e.newUser()
			for i := 0; i < clients; i++ {
				cp := *u
				cp.token = e.login(u, u.signer)
				users = append(users, &cp)
			}
			body := `{"credentialUuid":"` + u.credUUID + `"}`
			run := func(b *testing.B, f func(u *user)) {
				var next atomic.Int64
				// RunParallel starts parallelism × GOMAXPROCS goroutines.
				b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					u := users[int(next.Add(1)-1)%len(users)]
					for pb.Next() {
						f(u)
					}
				})
			}
			b.Run(fmt.Sprintf("%s/GET/clients=%d", name, clients), func(b *testing.B) {
				run(b, func(u *user) {
					if r := e.do("GET", "/auth/credentials", u.token, nil); r.status != 200 {
						b.Errorf("GET: %d", r.status)
					}
				})
			})
			b.Run(fmt.Sprintf("%s/signed/clients=%d", name, clients), func(b *testing.B) {
				run(b, func(u *user) {
					if r := e.signed(u, "PUT", "/auth/credentials/activate", body); r.status != 200 {
						b.Errorf("signed: %d %s", r.status, r.raw)
					}
				})
			})
		}
	}
}

// BenchmarkSQLiteSynchronous compares the signed round trip and the login
// on SQLite with synchronous=FULL (the default: every commit is fsynced,
// so a used action token or consumed challenge survives power loss) and
// NORMAL (fsync at checkpoints only), to show what the durable writes of a
// signed request cost (docs/performance.md).
func BenchmarkSQLiteSynchronous(b *testing.B) {
	for _, mode := range []sqlite.SyncMode{sqlite.SyncFull, sqlite.SyncNormal} {
		open := func(b *testing.B) *sqlite.Store {
			st, err := sqlite.Open(context.Background(), b.TempDir()+"/signet.db", sqlite.Synchronous(mode))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}
		b.Run(string(mode)+"/signed", func(b *testing.B) {
			e := newEnv(b, open(b))
			u := e.newUser()
			body := `{"credentialUuid":"` + u.credUUID + `"}`
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := e.signed(u, "PUT", "/auth/credentials/activate", body); r.status != 200 {
					b.Fatalf("signed request: %d %s", r.status, r.raw)
				}
			}
		})
		b.Run(string(mode)+"/login", func(b *testing.B) {
			e := newEnv(b, open(b))
			u := e.newUser()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.login(u, u.signer)
			}
		})
	}
}

// BenchmarkGroupCommit compares signed round trips and logins with 1 and 16
// concurrent clients on SQLite FULL with group commit on (the default) and
// off, to show what folding concurrent commits into one fsync buys
// (docs/performance.md).
func BenchmarkGroupCommit(b *testing.B) {
	for _, on := range []bool{true, false} {
		for _, clients := range []int{1, 16} {
			st, err := sqlite.Open(context.Background(), b.TempDir()+"/signet.db", sqlite.GroupCommit(on))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			e := newEnv(b, st)
			u := e.newUser()
			users := make([]*user, 0, clients)
			for range clients {
				cp := *u
				cp.token = e.login(u, u.signer)
				users = append(users, &cp)
			}
			body := `{"credentialUuid":"` + u.credUUID + `"}`
			run := func(b *testing.B, f func(u *user)) {
				var next atomic.Int64
				b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					u := users[int(next.Add(1)-1)%len(users)]
					for pb.Next() {
						f(u)
					}
				})
			}
			b.Run(fmt.Sprintf("group=%v/signed/clients=%d", on, clients), func(b *testing.B) {
				run(b, func(u *user) {
					if r := e.signed(u, "PUT", "/auth/credentials/activate", body); r.status != 200 {
						b.Errorf("signed: %d %s", r.status, r.raw)
					}
				})
			})
			b.Run(fmt.Sprintf("group=%v/login/clients=%d", on, clients), func(b *testing.B) {
				run(b, func(u *user) { e.login(u, u.signer) })
			})
		}
	}
}
