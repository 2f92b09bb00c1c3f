package main

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// --idle-timeout bounds how long the server keeps an idle keep-alive
// connection (and its memory): with 1s, a connection that has been
// answered and then stays quiet is closed by the server; with the
// default 120s it is still open after the same wait.
func TestIdleTimeoutClosesConnections(t *testing.T) {
	for _, tt := range []struct {
		name   string
		args   []string
		closed bool
	}{
		{"1s", []string{"--idle-timeout", "1s"}, true},
		{"default", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			url := serveInProcess(t, append([]string{"--database", "sqlite:" + filepath.Join(dir, "s.db"), "--key-file", filepath.Join(dir, "s.key")}, tt.args...)...)
			conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			rd := bufio.NewReader(conn)
			res, err := http.ReadResponse(rd, nil)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("GET /healthz: %v %v", res, err)
			}
			res.Body.Close()
			conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, err = rd.ReadByte()
			var ne net.Error
			timedOut := err != nil && errors.As(err, &ne) && ne.Timeout()
			if closed := err != nil && !timedOut; closed != tt.closed {
				t.Errorf("after 3s idle: read error %v; want the server to have closed it: %v", err, tt.closed)
			}
		})
	}
}
