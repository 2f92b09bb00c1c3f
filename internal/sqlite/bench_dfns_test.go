package sqlite

import (
	"testing"
)

// BenchmarkDfnsFlow is the store's whole share of a Dfns signed request
// (walDfnsFlow): the action completed (challenge spent, action and its
// pending entry written), then used (its entry sealed and appended), then
// its outcome queued, as the API and the gateway make them, from 16
// callers on SQLite FULL. Besides ns/op it reports the process's CPU per
// flow and the write syscalls and bytes (WAL and checkpoints together),
// which the shared machine disturbs less than the time.
func BenchmarkDfnsFlow(b *testing.B) {
	s := open(b)
	n := seed(b, s)
	b.SetParallelism(8) // 16 callers at GOMAXPROCS=2
	b.ReportAllocs()
	m := startMeter()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			walDfnsFlow(b, s, n)
		}
	})
	if err := s.flushOutcomes(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	m.report(b)
	if s.gc != nil {
		b.ReportMetric(float64(2*b.N)/float64(s.gc.commits.Load()), "works/commit")
	}
}
