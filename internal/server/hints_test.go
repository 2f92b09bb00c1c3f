package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/config"
)

func TestPageURL(t *testing.T) {
	tests := []struct {
		name     string
		rpID     string
		origins  []string
		addr     string
		wantURL  string
		wantHint string // substring; "" = no hint
	}{
		{"passkeys off", "", nil, "127.0.0.1:8080", "http://127.0.0.1:8080", "--rp-id localhost --origin http://localhost:8080"},
		{"localhost", "localhost", []string{"http://localhost:8080"}, "127.0.0.1:8080", "http://localhost:8080", ""},
		{"localhost, trailing slash", "localhost", []string{"http://localhost:9000/"}, "127.0.0.1:9000", "http://localhost:9000", ""},
		{"localhost, wrong port", "localhost", []string{"http://localhost:3000"}, "127.0.0.1:8080", "http://localhost:8080", "add --origin http://localhost:8080"},
		{"public", "example.com", []string{"https://signet.example.com"}, "10.0.0.5:8080", "https://signet.example.com", ""},
		{"ipv6", "", nil, "[::1]:8080", "http://[::1]:8080", "http://localhost:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.RPID, cfg.Origins = tt.rpID, tt.origins
			url, hint := PageURL(&cfg, tt.addr)
			if url != tt.wantURL {
				t.Errorf("url = %q, want %q", url, tt.wantURL)
			}
			if (tt.wantHint == "") != (hint == "") || !strings.Contains(hint, tt.wantHint) {
				t.Errorf("hint = %q, want one with %q", hint, tt.wantHint)
			}
		})
	}
}

func TestBootstrapHint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Database = "sqlite:" + filepath.Join(dir, "s.db")
	cfg.KeyFile = filepath.Join(dir, "s.key")
	p, err := Assemble(ctx, &cfg, NewLogger(&cfg, &strings.Builder{}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	hint, err := BootstrapHint(ctx, p, &cfg)
	want := "signet bootstrap --org-name NAME --username EMAIL --database " + cfg.Database + " --key-file " + cfg.KeyFile
	if err != nil || hint != want {
		t.Fatalf("empty database: hint %q, %v; want %q", hint, err, want)
	}
	if _, err := p.Service.Bootstrap(ctx, "acme", "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if hint, err := BootstrapHint(ctx, p, &cfg); err != nil || hint != "" {
		t.Errorf("after bootstrap: hint %q, %v", hint, err)
	}
}
