package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/tlscert/tlstest"
)

// TestServeTLS runs the assembled server with --tls-cert/--tls-key and
// reaches it over HTTP/2, trusting only a CA made for the test.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	certFile, keyFile := ca.WriteLeaf(t, dir, 42)
	cfg := config.Default()
	cfg.Database = "sqlite:" + filepath.Join(dir, "signet.db")
	cfg.KeyFile = filepath.Join(dir, "signet.key")
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	parts, err := Assemble(ctx, &cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer parts.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, parts, log) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	res, err := c.Get("https://" + ln.Addr().String() + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Proto != "HTTP/2.0" || !strings.Contains(string(body), `"keys"`) {
		t.Fatalf("got %d %s %s", res.StatusCode, res.Proto, body)
	}
	if got := res.TLS.PeerCertificates[0].SerialNumber.Int64(); got != 42 {
		t.Fatalf("served certificate %d, want 42", got)
	}

	// Plain HTTP on the TLS port gets no API answer.
	res, err = http.Get("http://" + ln.Addr().String() + "/.well-known/jwks.json")
	if err == nil {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(body), `"keys"`) {
			t.Fatal("plain HTTP was served the API on the TLS listener")
		}
	}
}

func TestAssembleRefusesBadTLSFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Database = "sqlite:" + filepath.Join(dir, "signet.db")
	cfg.KeyFile = filepath.Join(dir, "signet.key")
	cfg.TLSCert, cfg.TLSKey = filepath.Join(dir, "none.pem"), filepath.Join(dir, "none.key")
	if p, err := Assemble(context.Background(), &cfg, slog.New(slog.DiscardHandler)); err == nil {
		p.Close()
		t.Fatal("Assemble succeeded with missing TLS files")
	} else if !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("error %q does not name the flag", err)
	}
}
