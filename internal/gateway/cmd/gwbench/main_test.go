package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// TestRun runs the whole benchmark very briefly, so the command keeps
// working as signet changes.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	o := options{duration: 200 * time.Millisecond, warmup: 20 * time.Millisecond, levels: []int{2}, rounds: 1, logLevel: "info"}
	if err := run(t.Context(), o, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| GET signet gateway (bearer token) | 2 |", "| POST signet gateway (user action", "| GET plain ReverseProxy | 2 |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
