package sqlite

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/cputime"
)

// BenchmarkSpendActionForChallenge measures the one commit of an RFC 9421
// signed request (nonce spent, audit entry appended; no action row since
// sigrow)
// from 16 concurrent callers, as the gateway makes it under load, with an
// entry of the size a real one has (a PEM key, a signature base, a
// signature). Besides ns/op it reports the process's CPU per spend
// (user+system, getrusage), which the shared machine disturbs less.
func BenchmarkSpendActionForChallenge(b *testing.B) {
	for _, mode := range syncModes {
		for _, ids := range []string{"random", "ordered"} {
			b.Run(string(mode)+"/ids="+ids, func(b *testing.B) {
				s := open(b, Synchronous(mode))
				n := seed(b, s)
				var next atomic.Int64
				b.SetParallelism(8) // 16 callers at GOMAXPROCS=2
				b.ReportAllocs()
				m := startMeter()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						next.Add(1)
						now := time.Now()
						th := make([]byte, 32)
						rand.Read(th)
						id := benchID(ids == "ordered")
						a, e := fakeSigned(n, id, th, now, time.Hour, httpsigAlg, httpsigBase, httpsigSig)
						nonce := fmt.Sprintf("hs-%x", th)
						if err := s.SpendActionForChallenge(b.Context(), nonce, now.Add(time.Minute), a, e, "/wallets", now); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				m.report(b)
				if s.gc != nil {
					b.ReportMetric(float64(b.N)/float64(s.gc.commits.Load()), "spends/commit")
				}
			})
		}
	}
}

// benchID makes an action id as internal/auth does: random (newID, before
// sigperf) or time-ordered (newActionID).
// benchPEM is a public key of the size a P-256 PEM has, for fake entries.
var benchPEM = "-----BEGIN PUBLIC KEY-----\n" + strings.Repeat("A", 120) + "\n-----END PUBLIC KEY-----\n"

// fakeSigned is one signed request's action and audit entry as the
// gateway and the API build them, of n's org and user, with fields of a
// real entry's size: id is both their ids, th the action token's hash and
// the payload's, the action expires ttl after now, alg names the
// signature, and the signed bytes (clientData: the RFC 9421 signature base
// or the WebAuthn/Key client data) and the signature are signed and sig
// bytes long before encoding.
func fakeSigned(n auth.NewOrg, id string, th []byte, now time.Time, ttl time.Duration, alg string, signed, sig int) (*auth.Action, *audit.Entry) {
	a := &auth.Action{ID: id, TokenHash: th, OrgID: n.Org.ID, UserID: n.User.ID, TokenID: "to-1",
		CredentialUUID: "cr-1", Method: "POST", Path: "/wallets", PayloadHash: th,
		ExpiresAt: now.Add(ttl), CreatedAt: now}
	e := &audit.Entry{ID: id, OrgID: n.Org.ID, UserID: n.User.ID, Username: "a@example.com",
		TokenID: "to-1", TokenKind: "Token", CredentialUUID: "cr-1", CredID: "cid-1",
		CredentialKind: "Key", PublicKey: benchPEM, Method: "POST", Path: "/wallets",
		PayloadHash: th, ActionTokenHash: th, Challenge: base64.RawURLEncoding.EncodeToString(th),
		ClientData: base64.RawURLEncoding.EncodeToString(make([]byte, signed)),
		Signature:  base64.RawURLEncoding.EncodeToString(make([]byte, sig)), Algorithm: alg}
	return a, e
}

// httpsigAlg, httpsigBase and httpsigSig are an RFC 9421 request's
// algorithm as an entry records it and its signature base's and
// signature's sizes, for fakeSigned.
const (
	httpsigAlg  = "httpsig:ecdsa-p256-sha256"
	httpsigBase = 420
	httpsigSig  = 64
)

func benchID(ordered bool) string {
	t := []byte(strings.ToLower(rand.Text()))
	if ordered {
		const sorted = "234567abcdefghijklmnopqrstuvwxyz"
		ms := uint64(time.Now().UnixMilli())
		for i := 9; i >= 0; i-- {
			t[i] = sorted[ms&31]
			ms >>= 5
		}
	}
	return "uj-" + string(t[:5]) + "-" + string(t[5:10]) + "-" + string(t[10:])
}

// ioCounts are the write counters of /proc/self/io (zero elsewhere).
type ioCounts struct{ wchar, syscw int64 }

// meter is what a benchmark reports beside its time: the process's CPU
// and write syscalls and bytes since startMeter.
type meter struct {
	cpu time.Duration
	io  ioCounts
}

func startMeter() meter { return meter{cpuNow(), procIO()} }

// report reports CPU microseconds, KiB written and write calls per op.
func (m meter) report(b *testing.B) {
	b.ReportMetric(float64((cpuNow()-m.cpu).Microseconds())/float64(b.N), "cpu-us/op")
	now := procIO()
	b.ReportMetric(float64(now.wchar-m.io.wchar)/1024/float64(b.N), "written-KiB/op")
	b.ReportMetric(float64(now.syscw-m.io.syscw)/float64(b.N), "writes/op")
}

func procIO() ioCounts {
	var c ioCounts
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return c
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "wchar":
			c.wchar = n
		case "syscw":
			c.syscw = n
		}
	}
	return c
}

// cpuNow is the process's CPU time so far (0 where it cannot be read).
func cpuNow() time.Duration {
	d, _ := cputime.Process()
	return d
}
