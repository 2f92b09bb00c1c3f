package httpapi

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadAll: the body comes back whole and unchanged whatever length the
// request declared, and a read error is returned.
func TestReadAll(t *testing.T) {
	body := strings.Repeat("x", 1500)
	tests := []struct {
		name string
		r    func() io.Reader
		size int64
		want string
	}{
		{"unknown length", func() io.Reader { return strings.NewReader(body) }, -1, body},
		{"declared", func() io.Reader { return strings.NewReader(body) }, 1500, body},
		{"declared short", func() io.Reader { return strings.NewReader(body) }, 10, body},
		{"declared long", func() io.Reader { return strings.NewReader(body) }, 4000, body},
		{"one byte a read", func() io.Reader { return iotest.OneByteReader(strings.NewReader(body)) }, 1500, body},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(strings.NewReader(body)) }, 1500, body},
		{"empty", func() io.Reader { return strings.NewReader("") }, 0, ""},
	}
	for _, tt := range tests {
		got, err := readAll(tt.r(), tt.size)
		if err != nil || !bytes.Equal(got, []byte(tt.want)) {
			t.Errorf("%s: readAll = %d bytes, %v; want %d bytes", tt.name, len(got), err, len(tt.want))
		}
	}
	boom := errors.New("boom")
	if _, err := readAll(iotest.ErrReader(boom), 100); !errors.Is(err, boom) {
		t.Errorf("read error: %v, want %v", err, boom)
	}
}
