package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// directTransport sends a bodiless GET or HEAD to a plain-http upstream on
// the calling goroutine: it writes the request and reads the response
// head itself, on a kept-alive connection of its own pool, and hands the
// connection back when the body has been read to its end. Every other
// request (a body, another method, an upgrade, https) goes to fallback,
// the gateway's http.Transport.
//
// Why: http.Transport runs each connection with a writeLoop and a readLoop
// goroutine, so a request costs hand-offs between goroutines: the caller
// wakes writeLoop to write, readLoop wakes the caller with the response,
// and the body's end wakes readLoop again. At one client a request's rate
// is one over its latency, and on a busy 2-core machine each wake-up is a
// few microseconds on the critical path (issue 13, the one-client GET).
//
// It writes and parses with the standard library (Request.Write,
// http.ReadResponse), as http.Transport does, and keeps its rules: the
// response head is limited to maxResponseHeader bytes, 1xx responses go
// to the request's httptrace Got1xxResponse (ReverseProxy forwards them),
// a connection is reused only after a body read to its end with neither
// side asking to close and only while the upstream has sent nothing
// since (get), and a request that failed on a reused connection
// before any response byte arrived is sent once more on a new one (GET and
// HEAD are idempotent; http.Transport retries them the same way). The
// request's context bounds every step: its end sets a past deadline on the
// connection, which is then never reused.
type directTransport struct {
	fallback    http.RoundTripper
	host        string // the upstream's URL.Host, as ReverseProxy sets it
	addr        string // host:port to dial
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle     int
	idleTimeout time.Duration
	maxHeader   int64                 // maxResponseHeader
	quiet       func(c net.Conn) bool // quiet; the tests change it

	mu   sync.Mutex
	idle []*directConn // most recently used last
}

// maxResponseHeader bounds a response head, as http.Transport's default
// MaxResponseHeaderBytes does.
const maxResponseHeader = 10 << 20

// newDirectTransport returns a directTransport to the http upstream,
// with fallback for what it does not send itself; t supplies the dialer
// and the idle connection settings.
func newDirectTransport(upstream *url.URL, t *http.Transport) *directTransport {
	port := upstream.Port()
	if port == "" {
		port = "80"
	}
	return &directTransport{fallback: t, host: upstream.Host, addr: net.JoinHostPort(upstream.Hostname(), port), dial: t.DialContext,
		maxIdle: t.MaxIdleConnsPerHost, idleTimeout: t.IdleConnTimeout, maxHeader: maxResponseHeader, quiet: quiet}
}

// directConn is one kept-alive connection to the upstream.
type directConn struct {
	conn net.Conn
	lr   io.LimitedReader // under br: bounds the response head
	br   *bufio.Reader
	bw   *bufio.Writer
	used time.Time // when it went idle
	// idle closes the connection when it stays idle idleTimeout (expire);
	// made at its first put, reset at each.
	idle *time.Timer
}

// direct reports whether t sends req itself.
func (t *directTransport) direct(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(req.Body == nil || req.Body == http.NoBody) && req.ContentLength == 0 &&
		req.URL.Scheme == "http" && req.URL.Host == t.host &&
		len(req.TransferEncoding) == 0 && req.Header["Upgrade"] == nil && req.Header["Expect"] == nil
}

// RoundTrip implements http.RoundTripper.
func (t *directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.direct(req) {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	dc, reused := t.get()
	for {
		var err error
		if dc == nil {
			if dc, err = t.connect(ctx); err != nil {
				return nil, err
			}
		}
		res, sent, err := t.exchange(ctx, dc, req)
		if err == nil {
			return res, nil
		}
		// A kept-alive connection the upstream had closed fails before
		// any byte of a response: the request is sent again, once, on a
		// new connection.
		if !reused || sent || ctx.Err() != nil {
			return nil, err
		}
		dc, reused = nil, false
	}
}

// exchange sends req on dc and reads the response head. sent reports
// whether a response byte arrived (then the request is not sent again).
// dc is closed on error, and is the response body's to give back.
func (t *directTransport) exchange(ctx context.Context, dc *directConn, req *http.Request) (_ *http.Response, sent bool, err error) {
	stop := context.AfterFunc(ctx, func() { dc.conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if err != nil {
			stop()
			dc.conn.Close()
			if ctx.Err() != nil {
				// The past deadline's timeout is not the upstream's:
				// the context says why (the gateway's timeout, or the
				// client gone).
				err = fmt.Errorf("upstream call ended: %w", context.Cause(ctx))
			}
		}
	}()
	if err := req.Write(dc.bw); err != nil {
		return nil, false, err
	}
	if err := dc.bw.Flush(); err != nil {
		return nil, false, err
	}
	dc.lr.N = t.maxHeader
	if _, err := dc.br.Peek(1); err != nil {
		return nil, false, err
	}
	trace := httptrace.ContextClientTrace(ctx)
	var res *http.Response
	for {
		res, err = http.ReadResponse(dc.br, req)
		if err != nil {
			if dc.lr.N <= 0 {
				err = fmt.Errorf("upstream response headers exceeded %d bytes", t.maxHeader)
			}
			return nil, true, err
		}
		if res.StatusCode < 100 || res.StatusCode > 199 {
			break
		}
		if res.StatusCode == http.StatusSwitchingProtocols {
			return nil, true, errors.New("upstream switched protocols without an upgrade request")
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(res.StatusCode, textproto.MIMEHeader(res.Header)); err != nil {
				return nil, true, err
			}
			dc.lr.N = t.maxHeader
		}
	}
	dc.lr.N = 1<<63 - 1
	b := &directBody{t: t, dc: dc, body: res.Body, stop: stop, keep: !res.Close && !req.Close}
	if res.Body == http.NoBody {
		b.finish(true)
		return res, true, nil
	}
	res.Body = b
	return res, true, nil
}

// connect dials a new connection to the upstream.
func (t *directTransport) connect(ctx context.Context) (*directConn, error) {
	c, err := t.dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	dc := &directConn{conn: c}
	dc.lr.R = c
	dc.br = bufio.NewReader(&dc.lr)
	dc.bw = bufio.NewWriter(c)
	return dc, nil
}

// get takes the most recently used idle connection, closing those idle
// for longer than idleTimeout and those on which the upstream has closed
// or sent anything unasked (http.Transport's readLoop closes a connection
// with an unsolicited response too): bytes that arrive between two
// responses must never be read as the next request's response. reused is
// false when there is none.
func (t *directTransport) get() (_ *directConn, reused bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.idle) > 0 {
		dc := t.idle[len(t.idle)-1]
		t.idle[len(t.idle)-1] = nil
		t.idle = t.idle[:len(t.idle)-1]
		if dc.idle != nil {
			dc.idle.Stop() // a timer that fired already finds dc gone (expire)
		}
		if t.idleTimeout > 0 && time.Since(dc.used) > t.idleTimeout || dc.br.Buffered() > 0 || !t.quiet(dc.conn) {
			dc.conn.Close()
			continue
		}
		return dc, true
	}
	return nil, false
}

// put keeps dc for the next request, or closes it if the pool is full.
func (t *directTransport) put(dc *directConn) {
	dc.used = time.Now()
	t.mu.Lock()
	if len(t.idle) < t.maxIdle {
		t.idle = append(t.idle, dc)
		if t.idleTimeout > 0 {
			if dc.idle == nil {
				c := dc
				dc.idle = time.AfterFunc(t.idleTimeout, func() { t.expire(c) })
			} else {
				dc.idle.Reset(t.idleTimeout)
			}
		}
		dc = nil
	}
	t.mu.Unlock()
	if dc != nil {
		dc.conn.Close()
	}
}

// expire closes dc if it is idle: a connection nobody took for idleTimeout
// is closed, as http.Transport closes its idle ones, so that an idle
// gateway keeps no socket (nor the upstream's end of it) open for ever.
// A dc taken meanwhile is not idle, and is left alone.
func (t *directTransport) expire(dc *directConn) {
	t.mu.Lock()
	i := slices.Index(t.idle, dc)
	if i >= 0 {
		t.idle = slices.Delete(t.idle, i, i+1)
	}
	t.mu.Unlock()
	if i >= 0 {
		dc.conn.Close()
	}
}

// CloseIdleConnections closes the idle connections of both transports.
func (t *directTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, dc := range idle {
		dc.conn.Close()
	}
	if c, ok := t.fallback.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// directBody is a response body on a directConn: at its end the
// connection goes back to the pool, if both sides keep it alive and the
// request's context has not ended; a body closed before its end closes
// the connection, whose unread rest cannot be skipped safely. Close may
// come from another goroutine than Read, and unblocks it.
type directBody struct {
	t     *directTransport
	dc    *directConn
	body  io.ReadCloser
	stop  func() bool
	keep  bool
	state atomic.Int32 // bodyOpen, bodyEOF or bodyClosed
}

const (
	bodyOpen int32 = iota
	bodyEOF
	bodyClosed
)

var errBodyClosed = errors.New("gateway: read on a closed upstream response body")

func (b *directBody) Read(p []byte) (int, error) {
	switch b.state.Load() {
	case bodyEOF:
		return 0, io.EOF
	case bodyClosed:
		return 0, errBodyClosed
	}
	n, err := b.body.Read(p)
	if err != nil {
		b.finish(err == io.EOF)
	}
	return n, err
}

func (b *directBody) Close() error {
	b.finish(false)
	return nil
}

// finish gives the connection back (eof: the body was read to its end)
// or closes it; only its first call does anything.
func (b *directBody) finish(eof bool) {
	to := bodyClosed
	if eof {
		to = bodyEOF
	}
	if !b.state.CompareAndSwap(bodyOpen, to) {
		return
	}
	// stop is false when the context's end has already set a past
	// deadline on the connection.
	if b.stop() && eof && b.keep {
		b.t.put(b.dc)
		return
	}
	b.dc.conn.Close()
}
