package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingTransport is the gateway's http.Transport, counting the
// requests it is given: which requests directTransport left to it.
type countingTransport struct {
	*http.Transport
	n atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.Transport.RoundTrip(r)
}

// newDirect returns a directTransport to base (an http:// URL) and the
// transport it falls back to.
func newDirect(t *testing.T, base string) (*directTransport, *countingTransport) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	fb := &countingTransport{Transport: NewTransport()}
	d := newDirectTransport(u, fb.Transport)
	d.fallback = fb
	t.Cleanup(d.CloseIdleConnections)
	return d, fb
}

// roundTrip sends method to base+path on d and reads the whole body.
func roundTrip(ctx context.Context, d http.RoundTripper, method, base string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+"/x", nil)
	if err != nil {
		return nil, "", err
	}
	res, err := d.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}

// connCounter is an httptest server that counts the connections it
// accepted.
func connCounter(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			n.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &n
}

// TestDirectConnectionReuse: a connection is reused only after a response
// read to its end that neither side asked to close.
func TestDirectConnectionReuse(t *testing.T) {
	for _, c := range []struct {
		name      string
		method    string
		handler   http.HandlerFunc
		readShort bool // close the body after one byte
		wantBody  string
		wantConns int32
	}{
		{name: "kept alive", method: "GET", wantBody: "hello", wantConns: 1,
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }},
		{name: "HEAD", method: "HEAD", wantBody: "", wantConns: 1,
			handler: func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Length", "5") }},
		{name: "no content", method: "GET", wantBody: "", wantConns: 1,
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }},
		{name: "chunked with a trailer", method: "GET", wantBody: "onetwo", wantConns: 1,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Trailer", "X-Sum")
				io.WriteString(w, "one")
				http.NewResponseController(w).Flush()
				io.WriteString(w, "two")
				w.Header().Set("X-Sum", "6")
			}},
		{name: "Connection: close", method: "GET", wantBody: "bye", wantConns: 3,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Connection", "close")
				io.WriteString(w, "bye")
			}},
		{name: "body closed before its end", method: "GET", readShort: true, wantBody: "l", wantConns: 3,
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("l", 64<<10)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, conns := connCounter(t, c.handler)
			d, fb := newDirect(t, s.URL)
			for range 3 {
				req, _ := http.NewRequestWithContext(t.Context(), c.method, s.URL+"/x", nil)
				res, err := d.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				var body []byte
				if c.readShort {
					body = make([]byte, 1)
					_, err = io.ReadFull(res.Body, body)
				} else {
					body, err = io.ReadAll(res.Body)
				}
				res.Body.Close()
				if c.readShort && len(d.idle) != 0 {
					t.Errorf("a connection with an unread body went idle")
				}
				if err != nil || string(body) != c.wantBody {
					t.Fatalf("body %q, %v; want %q", body, err, c.wantBody)
				}
				if c.name == "chunked with a trailer" && res.Trailer.Get("X-Sum") != "6" {
					t.Errorf("trailer %v", res.Trailer)
				}
				if res.Close {
					if n := len(d.idle); n != 0 {
						t.Errorf("%d idle connections after a response that closes", n)
					}
				}
			}
			if got := conns.Load(); got != c.wantConns {
				t.Errorf("%d connections, want %d", got, c.wantConns)
			}
			if n := fb.n.Load(); n != 0 {
				t.Errorf("%d requests went to the fallback", n)
			}
		})
	}
}

// scripted is a raw upstream: serve runs on each accepted connection.
func scripted(t *testing.T, serve func(n int, c net.Conn, br *bufio.Reader)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				serve(n, c, bufio.NewReader(c))
			})
		}
	})
	return "http://" + ln.Addr().String()
}

// readRequest reads one request head from br; false at its end.
func readRequest(br *bufio.Reader) bool {
	req, err := http.ReadRequest(br)
	if err != nil {
		return false
	}
	req.Body.Close()
	return true
}

func alwaysQuiet(net.Conn) bool { return true }

// TestDirectStaleConnection: a request that fails on a kept-alive
// connection before any response byte is sent again on a new one, once;
// one that failed after the response began is not sent again.
func TestDirectStaleConnection(t *testing.T) {
	t.Run("closed while idle: sent again", func(t *testing.T) {
		var requests atomic.Int32
		base := scripted(t, func(_ int, c net.Conn, br *bufio.Reader) {
			if readRequest(br) {
				requests.Add(1)
				// No Connection: close, then closed: an idle timeout.
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		})
		d, _ := newDirect(t, base)
		d.quiet = alwaysQuiet // as if it closed after the check
		for i := range 3 {
			if _, body, err := roundTrip(t.Context(), d, "GET", base); err != nil || body != "ok" {
				t.Fatalf("request %d: %q, %v", i, body, err)
			}
		}
		if n := requests.Load(); n != 3 {
			t.Errorf("upstream saw %d requests, want 3", n)
		}
	})
	t.Run("failed after the response began: not sent again", func(t *testing.T) {
		var requests atomic.Int32
		base := scripted(t, func(n int, c net.Conn, br *bufio.Reader) {
			for readRequest(br) {
				if requests.Add(1) == 1 {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					continue
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Le")
				return
			}
		})
		d, _ := newDirect(t, base)
		d.quiet = alwaysQuiet
		if _, body, err := roundTrip(t.Context(), d, "GET", base); err != nil || body != "ok" {
			t.Fatalf("first: %q, %v", body, err)
		}
		if _, _, err := roundTrip(t.Context(), d, "GET", base); err == nil {
			t.Fatal("a truncated response head was accepted")
		}
		if n := requests.Load(); n != 2 {
			t.Errorf("upstream saw %d requests, want 2", n)
		}
	})
}

// TestDirectUnsolicitedBytes: bytes the upstream sends between two
// responses are never read as the next request's response.
func TestDirectUnsolicitedBytes(t *testing.T) {
	const evil = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"
	for _, c := range []struct {
		name  string
		after bool // sent once the first response was read, not with it
	}{
		{"with the response", false},
		{"after the response", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			read, sent := make(chan struct{}), make(chan struct{})
			base := scripted(t, func(n int, conn net.Conn, br *bufio.Reader) {
				for i := 0; readRequest(br); i++ {
					if n > 0 || i > 0 {
						io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")
						continue
					}
					if !c.after {
						io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood"+evil)
						continue
					}
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")
					<-read
					io.WriteString(conn, evil)
					close(sent)
				}
			})
			d, _ := newDirect(t, base)
			if _, body, err := roundTrip(t.Context(), d, "GET", base); err != nil || body != "good" {
				t.Fatalf("first: %q, %v", body, err)
			}
			if c.after {
				close(read)
				<-sent
				// Loopback delivers a write before it returns; the peek
				// finds the bytes that were sent.
			}
			if _, body, err := roundTrip(t.Context(), d, "GET", base); err != nil || body != "good" {
				t.Fatalf("second: %q, %v", body, err)
			}
		})
	}
}

// TestDirectContextEnds: the end of the request's context ends the wait
// for the response and the read of its body, with the context's cause,
// and the connection is not reused.
func TestDirectContextEnds(t *testing.T) {
	cause := errors.New("the gateway's timeout")
	for _, c := range []struct {
		name   string
		inBody bool // cancel while the body is read, not the head
	}{
		{"waiting for the head", false},
		{"reading the body", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			release, arrived := make(chan struct{}), make(chan struct{}, 1)
			s, conns := connCounter(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("stall") == "" {
					io.WriteString(w, "ok")
					return
				}
				if c.inBody {
					io.WriteString(w, "part")
					http.NewResponseController(w).Flush()
				}
				arrived <- struct{}{}
				<-release
			})
			t.Cleanup(func() { close(release) }) // before the server's Close
			d, _ := newDirect(t, s.URL)
			ctx, cancel := context.WithCancelCause(t.Context())
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/x?stall=1", nil)
			if !c.inBody {
				go func() { <-arrived; cancel(cause) }()
				_, err := d.RoundTrip(req)
				if !errors.Is(err, cause) {
					t.Fatalf("err %v, want the cause", err)
				}
			} else {
				res, err := d.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 4)
				if _, err := io.ReadFull(res.Body, buf); err != nil {
					t.Fatal(err)
				}
				cancel(cause)
				if _, err := io.ReadAll(res.Body); err == nil {
					t.Fatal("the body's read outlived its context")
				}
				res.Body.Close()
			}
			if n := len(d.idle); n != 0 {
				t.Errorf("%d idle connections after the context ended", n)
			}
			if _, body, err := roundTrip(t.Context(), d, "GET", s.URL); err != nil || body != "ok" {
				t.Fatalf("next request: %q, %v", body, err)
			}
			if got := conns.Load(); got != 2 {
				t.Errorf("%d connections, want 2", got)
			}
		})
	}
}

// TestDirectResponseHeadLimit: a response head larger than the limit is
// refused, as http.Transport refuses it.
func TestDirectResponseHeadLimit(t *testing.T) {
	base := scripted(t, func(_ int, c net.Conn, br *bufio.Reader) {
		if readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("a", 4096)+"\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	d, _ := newDirect(t, base)
	d.maxHeader = 1024
	if _, _, err := roundTrip(t.Context(), d, "GET", base); err == nil || !strings.Contains(err.Error(), "exceeded 1024 bytes") {
		t.Fatalf("err %v, want the head refused", err)
	}
}

// TestDirectInformational: 1xx responses go to the request's trace (which
// ReverseProxy forwards to the client) before the final response; a 101
// nobody asked for is refused.
func TestDirectInformational(t *testing.T) {
	for _, c := range []struct {
		name, script string
		want1xx      []int
		wantErr      bool
	}{
		{name: "103 then 200", script: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", want1xx: []int{103}},
		{name: "101 unasked", script: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := scripted(t, func(_ int, conn net.Conn, br *bufio.Reader) {
				if readRequest(br) {
					io.WriteString(conn, c.script)
				}
			})
			d, _ := newDirect(t, base)
			var got []int
			var link string
			ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				got = append(got, code)
				link = h.Get("Link")
				return nil
			}})
			res, body, err := roundTrip(ctx, d, "GET", base)
			if c.wantErr {
				if err == nil {
					t.Fatalf("got %d, want an error", res.StatusCode)
				}
				return
			}
			if err != nil || res.StatusCode != 200 || body != "ok" {
				t.Fatalf("%v %q %v", res, body, err)
			}
			if len(got) != len(c.want1xx) || got[0] != c.want1xx[0] || link != "</a.css>" {
				t.Errorf("1xx %v (Link %q), want %v", got, link, c.want1xx)
			}
		})
	}
}

// TestDirectLeavesTheRest: only a bodiless GET or HEAD to the upstream
// over http is sent directly; everything else goes to http.Transport.
func TestDirectLeavesTheRest(t *testing.T) {
	u, _ := url.Parse("http://upstream.test:8080/base")
	d := newDirectTransport(u, NewTransport())
	for _, c := range []struct {
		name   string
		method string
		url    string
		body   string
		header string // a header to set, "Name: value"
		want   bool
	}{
		{name: "GET", method: "GET", url: "http://upstream.test:8080/x", want: true},
		{name: "HEAD", method: "HEAD", url: "http://upstream.test:8080/x", want: true},
		{name: "POST", method: "POST", url: "http://upstream.test:8080/x", body: "{}"},
		{name: "DELETE", method: "DELETE", url: "http://upstream.test:8080/x"},
		{name: "GET with a body", method: "GET", url: "http://upstream.test:8080/x", body: "x"},
		{name: "upgrade", method: "GET", url: "http://upstream.test:8080/x", header: "Upgrade: websocket"},
		{name: "Expect", method: "GET", url: "http://upstream.test:8080/x", header: "Expect: 100-continue"},
		{name: "https", method: "GET", url: "https://upstream.test:8080/x"},
		{name: "another host", method: "GET", url: "http://elsewhere.test:8080/x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req := httptest.NewRequest(c.method, c.url, body)
			req.RequestURI = ""
			if k, v, ok := strings.Cut(c.header, ": "); ok {
				req.Header.Set(k, v)
			}
			if got := d.direct(req); got != c.want {
				t.Errorf("direct = %v, want %v", got, c.want)
			}
		})
	}
	if d.addr != "upstream.test:8080" {
		t.Errorf("addr %q", d.addr)
	}
	if d80 := newDirectTransport(&url.URL{Scheme: "http", Host: "[::1]"}, NewTransport()); d80.addr != "[::1]:80" {
		t.Errorf("default port: addr %q", d80.addr)
	}
}

// TestDirectWritesAsTransport: the request head the upstream receives is
// the one http.Transport writes, byte for byte, but for the
// Accept-Encoding: gzip that http.Transport adds (and then decodes
// itself) when the client sent none: the direct path passes the client's
// choice through.
func TestDirectWritesAsTransport(t *testing.T) {
	heads := make(chan string, 2)
	base := scripted(t, func(_ int, c net.Conn, br *bufio.Reader) {
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		heads <- head.String()
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	})
	d, fb := newDirect(t, base)
	for _, rt := range []http.RoundTripper{d, fb.Transport} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/orders/42?x=1", nil)
		req.Host = ""                    // as ReverseProxy's SetURL leaves it
		req.Header.Set("User-Agent", "") // as ReverseProxy sets it: no Go default
		req.Header.Set("X-Signet-User-Id", "us-1")
		req.Header["X-Forwarded-For"] = []string{"10.0.0.1"}
		res, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(res.Body)
		res.Body.Close()
	}
	direct, transport := <-heads, <-heads
	if want := strings.Replace(transport, "Accept-Encoding: gzip\r\n", "", 1); direct != want {
		t.Errorf("direct wrote\n%q\nhttp.Transport wrote\n%q", direct, transport)
	}
	if fb.n.Load() != 0 || strings.Contains(direct, "User-Agent") {
		t.Errorf("fallback used %d times; head %q", fb.n.Load(), direct)
	}
}

// TestDirectIdleTimeout: a kept-alive connection nobody takes for the idle
// timeout is closed by the gateway, not kept open until its next use (an
// idle gateway would otherwise hold up to maxIdle sockets for ever); the
// next request dials a new one.
func TestDirectIdleTimeout(t *testing.T) {
	closed := make(chan struct{}, 8)
	var n atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			n.Add(1)
		case http.StateClosed:
			closed <- struct{}{}
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	d, _ := newDirect(t, s.URL)
	d.idleTimeout = 20 * time.Millisecond
	for range 2 {
		if _, body, err := roundTrip(t.Context(), d, "GET", s.URL); err != nil || body != "ok" {
			t.Fatalf("GET: %q, %v", body, err)
		}
	}
	if got := n.Load(); got != 1 {
		t.Fatalf("%d connections for two GETs in a row, want 1", got)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle connection was not closed (waited 10s for an idle timeout of 20ms)")
	}
	d.mu.Lock()
	idle := len(d.idle)
	d.mu.Unlock()
	if idle != 0 {
		t.Fatalf("%d idle connections after the idle timeout, want 0", idle)
	}
	if _, body, err := roundTrip(t.Context(), d, "GET", s.URL); err != nil || body != "ok" {
		t.Fatalf("GET after the idle timeout: %q, %v", body, err)
	}
	if got := n.Load(); got != 2 {
		t.Fatalf("%d connections, want 2 (a new one after the idle timeout)", got)
	}
}
