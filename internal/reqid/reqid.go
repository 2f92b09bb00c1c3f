// Package reqid makes the request ids signet gives requests that came
// without a usable X-Request-Id (the gateway and signet's own API).
//
// A request id correlates log lines, the upstream's view and the caller's;
// nothing trusts it (a caller may send its own, which is used as is) and
// nothing needs it unpredictable. So it is not drawn from crypto/rand per
// request: a random prefix per process, drawn once, is followed by a
// counter. Ids are unique within a process and, with 40 random bits per
// process, across replicas and restarts in all likelihood. They have the
// shape of the ids before (16 characters of rand.Text's alphabet).
package reqid

import (
	"crypto/rand"
	"sync/atomic"
)

// alphabet is rand.Text's (RFC 4648 base32).
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// Len is the length of an id.
const Len = 16

const prefixLen = 8 // 40 random bits

var (
	prefix  = rand.Text()[:prefixLen]
	counter atomic.Uint64
)

// New returns a new request id: the process's prefix and the next value
// of its counter, in base32 (the counter's low 40 bits).
func New() string {
	return format(prefix, counter.Add(1))
}

func format(prefix string, n uint64) string {
	var b [Len]byte
	copy(b[:prefixLen], prefix)
	for i := Len - 1; i >= prefixLen; i-- {
		b[i] = alphabet[n&31]
		n >>= 5
	}
	return string(b[:])
}
