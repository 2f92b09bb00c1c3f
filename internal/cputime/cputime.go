// Package cputime measures the CPU time of the running process, for the
// benchmarks that report it per operation (cpu-us/op): on a shared
// two-core machine the process's CPU per operation separates two builds
// where wall time per operation does not (docs/performance.md).
package cputime

import (
	"syscall"
	"testing"
	"time"
)

// Process is the user and system CPU time this process has used so far
// (getrusage(RUSAGE_SELF)).
func Process() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// Meter starts measuring b's CPU time; the function it returns, called
// after the timed loop, reports the process's CPU time since then per
// b.N as "cpu-us/op".
func Meter(b *testing.B) (report func()) {
	start := must(b)
	return func() {
		b.ReportMetric(float64((must(b)-start).Nanoseconds())/1e3/float64(b.N), "cpu-us/op")
	}
}

func must(b *testing.B) time.Duration {
	d, err := Process()
	if err != nil {
		b.Fatal(err)
	}
	return d
}
