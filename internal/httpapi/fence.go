package httpapi

import (
	"bytes"
	"context"
	"net/http"
)

// serveFenced runs a fenced route (route.fenced): the handler writes its
// answer into a buffer; then the store's fence (Config.Fence, auth.Fencer)
// makes whatever the handler committed in force on every replica; only
// then is the answer written. It fences whatever the handler returned: a
// failed call may have committed part of its work. A fence that fails
// answers its error (unavailable, 503) instead: the change is committed,
// but the caller must not take it as in force everywhere yet.
func (s *Server) serveFenced(rt route, w http.ResponseWriter, r *http.Request, c *call) error {
	bw := &bufferedWriter{header: w.Header()}
	err := s.handle(rt, bw, r, c)
	// The request's deadline may be near its end after the handler: the
	// fence gets its own, as long as the request's (it waits one cache
	// lease at most for a replica that does not answer).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.timeout)
	defer cancel()
	if ferr := s.fence(ctx); ferr != nil {
		return ferr
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
