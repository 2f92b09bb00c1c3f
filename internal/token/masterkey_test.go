package token

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestLoadOrCreateMasterKeyCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(k) != 32 {
		t.Fatalf("key has %d bytes", len(k))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", fi.Mode().Perm())
	}
	if onDisk, _ := os.ReadFile(path); !bytes.Equal(onDisk, k) {
		t.Error("file does not hold the returned key")
	}
	again, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !bytes.Equal(again, k) {
		t.Error("second call returned another key")
	}
}

func TestLoadOrCreateMasterKeyRefusesOpenFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	key := bytes.Repeat([]byte{7}, 32)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620, 0o660} {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, key, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		k, err := LoadOrCreateMasterKey(path)
		if err == nil {
			t.Errorf("mode %04o accepted", mode)
			continue
		}
		if k != nil {
			t.Errorf("mode %04o: key returned with the error", mode)
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: error %q does not say how to fix it", mode, err)
		}
	}
	if _, err := LoadOrCreateMasterKey(t.TempDir()); err == nil {
		t.Error("a directory was accepted")
	}
}

func TestLoadOrCreateMasterKeyFormats(t *testing.T) {
	want := []byte("0123456789abcdef0123456789ABCDEF")
	for name, c := range map[string]struct {
		content string
		ok      bool
	}{
		"raw":               {string(want), true},
		"hex":               {hex.EncodeToString(want), true},
		"hex newline":       {hex.EncodeToString(want) + "\n", true},
		"HEX":               {strings.ToUpper(hex.EncodeToString(want)), true},
		"base64":            {base64.StdEncoding.EncodeToString(want) + "\n", true},
		"base64 unpadded":   {base64.RawStdEncoding.EncodeToString(want), true},
		"base64url":         {base64.RawURLEncoding.EncodeToString(want), true},
		"empty":             {"", false},
		"short raw":         {"0123456789", false},
		"33 raw bytes":      {string(want) + "!", false},
		"63 hex":            {hex.EncodeToString(want)[:63], false},
		"bad hex":           {"zz" + hex.EncodeToString(want)[2:], false},
		"base64 of 16":      {base64.StdEncoding.EncodeToString(want[:16]), false},
		"all zero raw":      {string(make([]byte, 32)), false},
		"all zero hex":      {strings.Repeat("0", 64), false},
		"huge":              {strings.Repeat("a", 4096), false},
		"passphrase prose!": {"correct horse battery staple", false},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := LoadOrCreateMasterKey(path)
			if !c.ok {
				if err == nil {
					t.Fatalf("accepted %q", c.content)
				}
				if len(c.content) > 8 && strings.Contains(err.Error(), c.content[:8]) {
					t.Errorf("error quotes the file: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k, want) {
				t.Errorf("key = %x, want %x", k, want)
			}
		})
	}
}

func TestLoadOrCreateMasterKeyMissingDir(t *testing.T) {
	if _, err := LoadOrCreateMasterKey(filepath.Join(t.TempDir(), "no", "such", "dir", "key")); err == nil {
		t.Error("missing directory: no error")
	}
}
