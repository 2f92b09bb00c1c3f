package server

import (
	"runtime/debug"
	"strconv"
)

// DefaultGCPercent is the garbage collector's target that signet serve
// sets when the GOGC environment variable is not set: 400, where the Go
// runtime's own default is 100.
//
// Why (issue 13, docs/performance.md "gcpercent"): a signed request or a
// login allocates tens of KiB that die with the request, over a live heap
// of a few tens of MiB, so at 100 the collector runs several times a second
// under load and took ~10-15% of the server's CPU per Dfns flow. At 400 it
// runs a quarter as often. The price is memory: the heap may grow to about
// five times what is live instead of twice (docs/production.md,
// "Connections and memory", gives the figures and how to bound it with
// GOMEMLIMIT or to restore the runtime's default with GOGC=100).
const DefaultGCPercent = 400

// TuneGC sets the collector's target to DefaultGCPercent unless the
// operator chose one with GOGC, which the runtime has then already applied
// (GOGC=off included). lookup reads the environment. It returns the target
// in force and whether signet set it.
func TuneGC(lookup func(string) (string, bool)) (percent string, set bool) {
	if v, ok := lookup("GOGC"); ok && v != "" {
		return v, false
	}
	debug.SetGCPercent(DefaultGCPercent)
	return strconv.Itoa(DefaultGCPercent), true
}
