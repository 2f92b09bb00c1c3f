package sqlite

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
)

// BenchmarkSpendWithOutcome is the store's whole share of an RFC 9421
// signed request under load: the spend (nonce, action created used, audit
// entry) and then its outcome, queued as the gateway queues it (16
// callers, FULL). It reports CPU and bytes written per request, the WAL's
// and the checkpoints' writes together.
func BenchmarkSpendWithOutcome(b *testing.B) {
	b.Run("callers=16", func(b *testing.B) { benchSpendWithOutcome(b, true) })
	b.Run("callers=1", func(b *testing.B) { benchSpendWithOutcome(b, false) })
}

// benchSpendWithOutcome runs the benchmark from 16 callers (parallel) or
// from one, whose outcome is recorded with RecordOutcome: every commit then
// holds one request's writes, so the bytes written per request count the
// pages it dirties, whatever the machine's timing.
func benchSpendWithOutcome(b *testing.B, parallel bool) {
	s := open(b)
	n := seed(b, s)
	b.SetParallelism(8) // 16 callers at GOMAXPROCS=2
	b.ReportAllocs()
	m := startMeter()
	b.ResetTimer()
	run := func(next func() bool) {
		for next() {
			now := time.Now()
			th := make([]byte, 32)
			rand.Read(th)
			id := benchID(true)
			a, e := fakeSigned(n, id, th, now, time.Hour, httpsigAlg, httpsigBase, httpsigSig)
			if err := s.SpendActionForChallenge(b.Context(), fmt.Sprintf("hs-%x", th), now.Add(time.Minute), a, e, "/wallets", now); err != nil {
				b.Error(err)
				return
			}
			o := &audit.Outcome{EntryID: id, Status: 201, Time: now}
			if !parallel {
				if err := s.RecordOutcome(b.Context(), o); err != nil {
					b.Error(err)
					return
				}
				continue
			}
			done := make(chan error, 1)
			s.QueueOutcome(b.Context(), o, func(err error) { done <- err })
			if err := <-done; err != nil {
				b.Error(err)
				return
			}
		}
	}
	if parallel {
		b.RunParallel(func(pb *testing.PB) { run(pb.Next) })
	} else {
		i := 0
		run(func() bool { i++; return i <= b.N })
	}
	b.StopTimer()
	m.report(b)
	if s.ckpt != nil {
		// Checkpoints the writer ran, and the frames they copied, per 1000
		// requests (SQLite's own autocheckpoint ran one per ~1000 frames).
		b.ReportMetric(float64(s.ckpt.restarts.Load())*1000/float64(b.N), "writer-ckpts/kop")
		b.ReportMetric(float64(s.ckpt.restartFrames.Load())*1000/float64(b.N), "writer-ckpt-frames/kop")
		b.ReportMetric(float64(s.ckpt.passive.Load())*1000/float64(b.N), "bg-ckpts/kop")
	}
}
