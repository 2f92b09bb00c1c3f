// Package tlscert serves signet's TLS certificate from a certificate file
// and a key file, re-reading them when either file changes, so a renewed
// certificate (certbot, cert-manager, a cron job) is served from the next
// handshake on without a restart.
//
// It is the adapter between the operator's files and crypto/tls; the
// protocol policy (TLS 1.2 minimum, HTTP/2) is in Config.
package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Reloader holds the certificate of a cert/key file pair and reloads it
// when either file's modification time or size changes. It is safe for
// concurrent use.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu     sync.Mutex
	cert   *tls.Certificate
	stamp  stamp // of the files cert was loaded from
	failed stamp // of the files a reload last failed on, to log it once
}

// stamp identifies one version of the two files.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// New loads the pair once and fails if it cannot (a wrong path, a key that
// does not match the certificate), so a bad setting stops start-up.
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tlscert: both a certificate file and a key file are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log}
	st, err := r.statFiles()
	if err != nil {
		return nil, err
	}
	cert, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cert, r.stamp = cert, st
	return r, nil
}

func (r *Reloader) statFiles() (stamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return stamp{}, fmt.Errorf("tlscert: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return stamp{}, fmt.Errorf("tlscert: %w", err)
	}
	return stamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

func (r *Reloader) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlscert: %s / %s: %w", r.certFile, r.keyFile, err)
	}
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tlscert: %s: %w", r.certFile, err)
		}
	}
	return &cert, nil
}

// GetCertificate is tls.Config.GetCertificate: it returns the current
// certificate, reloading the files first when they changed. A reload that
// fails (a renewal caught half-written, a key that does not match) keeps
// the previous certificate, logs a warning once per file version, and is
// retried on the next handshake.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.statFiles()
	if err != nil || st == r.stamp {
		if err != nil && st != r.failed {
			r.log.Warn("TLS certificate files unreadable; serving the previous certificate", "err", err)
			r.failed = st
		}
		return r.cert, nil
	}
	cert, err := r.load()
	if err != nil {
		if st != r.failed {
			r.log.Warn("reloading the TLS certificate failed; serving the previous certificate", "err", err)
			r.failed = st
		}
		return r.cert, nil
	}
	r.cert, r.stamp, r.failed = cert, st, stamp{}
	r.log.Info("reloaded the TLS certificate", "file", r.certFile, "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return cert, nil
}

// Config returns the server TLS configuration: TLS 1.2 at least, and for
// TLS 1.2 only forward-secret AEAD cipher suites (RFC 9325 §4.2; TLS 1.3
// suites are not configurable and all qualify), HTTP/2 offered before
// HTTP/1.1 by ALPN (its required suite, ECDHE-RSA-AES128-GCM, is among
// them: RFC 9113 §9.2.2), and the certificate from r.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
