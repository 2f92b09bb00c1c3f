package tlscert_test

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/tlscert"
	"github.com/signet-auth/signet/internal/tlscert/tlstest"
)

// serve runs an HTTPS server with r's configuration on loopback and
// returns its address.
func serve(t *testing.T, r *tlscert.Reloader) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		TLSConfig: r.Config(),
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }),
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// get fetches https://addr/ on a fresh connection trusting only ca and
// returns the protocol and the serial number of the certificate served.
func get(t *testing.T, ca *tlstest.CA, addr string) (proto string, serial int64) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return res.Proto, res.TLS.PeerCertificates[0].SerialNumber.Int64()
}

func TestServesHTTP2WithTheCertificate(t *testing.T) {
	ca := tlstest.NewCA(t)
	cf, kf := ca.WriteLeaf(t, t.TempDir(), 7)
	r, err := tlscert.New(cf, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r)
	proto, serial := get(t, ca, addr)
	if proto != "HTTP/2.0" || serial != 7 {
		t.Fatalf("got %s with certificate %d, want HTTP/2.0 with 7", proto, serial)
	}
}

func TestRefusesOldTLSVersions(t *testing.T) {
	ca := tlstest.NewCA(t)
	cf, kf := ca.WriteLeaf(t, t.TempDir(), 1)
	r, err := tlscert.New(cf, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r)
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), MinVersion: v, MaxVersion: v})
		if err == nil {
			conn.Close()
			t.Errorf("handshake with max version %x succeeded, want refused", v)
		}
	}
	// An untrusted CA is refused by the client: the test CA is really the
	// one that vouches for the server.
	other := tlstest.NewCA(t)
	if conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: other.Pool()}); err == nil {
		conn.Close()
		t.Error("handshake trusting another CA succeeded")
	}
}

// setFiles writes a new pair over the old files and moves their mtime
// forward, as a renewal does (and beyond the file system's mtime
// granularity).
func setFiles(t *testing.T, cf, kf string, cert, key []byte, at time.Time) {
	t.Helper()
	for f, b := range map[string][]byte{cf: cert, kf: key} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f, at, at); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReloadsRenewedFilesWithoutRestart(t *testing.T) {
	ca := tlstest.NewCA(t)
	cf, kf := ca.WriteLeaf(t, t.TempDir(), 1)
	r, err := tlscert.New(cf, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r)
	if _, s := get(t, ca, addr); s != 1 {
		t.Fatalf("serial %d, want 1", s)
	}

	c2, k2 := ca.Leaf(t, 2)
	setFiles(t, cf, kf, c2, k2, time.Now().Add(time.Minute))
	if _, s := get(t, ca, addr); s != 2 {
		t.Fatalf("after renewal: serial %d, want 2", s)
	}

	// A renewal caught half-way (new certificate, old key) is not served:
	// the previous pair stays until the key arrives.
	c3, k3 := ca.Leaf(t, 3)
	setFiles(t, cf, kf, c3, k2, time.Now().Add(2*time.Minute))
	if _, s := get(t, ca, addr); s != 2 {
		t.Fatalf("mismatched pair: serial %d, want the previous 2", s)
	}
	setFiles(t, cf, kf, c3, k3, time.Now().Add(3*time.Minute))
	if _, s := get(t, ca, addr); s != 3 {
		t.Fatalf("after the key arrived: serial %d, want 3", s)
	}

	// Files gone: keep serving.
	os.Remove(cf)
	if _, s := get(t, ca, addr); s != 3 {
		t.Fatalf("files removed: serial %d, want 3", s)
	}
}

func TestNewRefusesBadPairs(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	cf, kf := ca.WriteLeaf(t, dir, 1)
	_, otherKey := ca.Leaf(t, 2)
	mismatched := filepath.Join(dir, "other.pem")
	if err := os.WriteFile(mismatched, otherKey, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, cert, key string }{
		{"missing cert", filepath.Join(dir, "nope.pem"), kf},
		{"missing key", cf, filepath.Join(dir, "nope.pem")},
		{"key of another certificate", cf, mismatched},
		{"key as certificate", kf, kf},
		{"empty names", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tlscert.New(tc.cert, tc.key, nil); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}
