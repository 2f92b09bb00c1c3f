package cputime

import "testing"

func TestProcessMoves(t *testing.T) {
	a, err := Process()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i ^ (x >> 3)
	}
	b, err := Process()
	if err != nil {
		t.Fatal(err)
	}
	if b <= a {
		t.Fatalf("CPU time did not move over a busy loop: %v then %v (x=%d)", a, b, x)
	}
}

func BenchmarkMeter(b *testing.B) {
	report := Meter(b)
	for i := 0; i < b.N; i++ {
		_, _ = Process()
	}
	report()
}
