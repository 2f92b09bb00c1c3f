package httpapi

import (
	"bytes"
	"context"
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// serveFenced runs a fenced route (route.fenced): the handler writes its
// answer into a buffer; then the store's fence (Config.Fence, auth.Fencer)
// makes whatever the handler committed in force on every replica; only
// then is the answer written. It fences whatever the handler returned: a
// failed call may have committed part of its work. A fence that fails
// answers its error (unavailable, 503) instead: the change is committed,
// but the caller must not take it as in force everywhere yet.
//
// A store that can tell (auth.ChangeMarker) that the handler changed
// nothing a replica may cache is not fenced: a call refused before it
// wrote, or one that wrote nothing of a principal, is answered at once and
// sends nothing to the other replicas (no notification, no emptied
// caches), whoever sends such calls and however often.
func (s *Server) serveFenced(rt route, w http.ResponseWriter, r *http.Request, c *call) error {
	changed := func() bool { return true }
	if m, ok := s.fence.(auth.ChangeMarker); ok {
		mark := m.ChangeMark()
		changed = func() bool { return m.ChangedSince(mark) }
	}
	bw := &bufferedWriter{header: w.Header()}
	err := s.handle(rt, bw, r, c)
	if changed() {
		// The request's deadline may be near its end after the handler:
		// the fence gets its own, as long as the request's (it waits one
		// cache lease at most for a replica that does not answer).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.timeout)
		defer cancel()
		if ferr := s.fence.Fence(ctx); ferr != nil {
			return ferr
		}
	}
	bw.flush(w)
	return err
}

// bufferedWriter holds a handler's answer until the fence returned.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// flush writes what the handler wrote, if anything, to w.
func (b *bufferedWriter) flush(w http.ResponseWriter) {
	if b.status == 0 {
		return
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}
