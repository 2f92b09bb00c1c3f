package token

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
)

const masterKeySize = 32

// LoadOrCreateMasterKey reads the 32-byte master key that seals the signing
// keys from path: raw 32 bytes, or 64 hex characters, or base64 (standard or
// URL alphabet, padded or not), surrounding whitespace ignored. If path does
// not exist it is created (O_EXCL, mode 0600) holding 32 random bytes. A file
// that group or others may access is refused: the key must be owner-only
// (spec 12.6). Errors never contain key material.
func LoadOrCreateMasterKey(path string) ([]byte, error) {
	k, err := readMasterKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	k, err = createMasterKey(path)
	if errors.Is(err, fs.ErrExist) { // another process created it first
		return readMasterKey(path)
	}
	return k, err
}

func readMasterKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("token: master key %s is not a regular file", path)
	}
	// Windows has no Unix permission bits to check.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("token: master key %s has mode %04o: group and others must have no access (chmod 600)", path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("token: master key %s: %w", path, err)
	}
	defer clear(b)
	k, err := decodeMasterKey(b)
	if err != nil {
		return nil, fmt.Errorf("token: master key %s: %w", path, err)
	}
	return k, nil
}

var errMasterKeyFormat = errors.New("want 32 raw bytes, 64 hex characters or base64 of 32 bytes")

func decodeMasterKey(b []byte) ([]byte, error) {
	var k []byte
	if len(b) == masterKeySize {
		k = bytes.Clone(b)
	} else {
		s := string(bytes.TrimSpace(b))
		var err error
		if len(s) == 2*masterKeySize {
			k, err = hex.DecodeString(s)
		} else {
			k, err = decodeBase64(s)
		}
		if err != nil || len(k) != masterKeySize {
			return nil, errMasterKeyFormat // err would quote the bad input
		}
	}
	if bytes.Equal(k, make([]byte, masterKeySize)) {
		return nil, errors.New("all-zero key refused")
	}
	return k, nil
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			return k, nil
		}
	}
	return nil, errMasterKeyFormat
}

func createMasterKey(path string) ([]byte, error) {
	k := make([]byte, masterKeySize)
	rand.Read(k) // never returns an error (crypto/rand, Go 1.24+)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("token: create master key: %w", err)
	}
	if _, err = f.Write(k); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // a short key file must not be read back later
		return nil, fmt.Errorf("token: create master key %s: %w", path, err)
	}
	return k, nil
}
