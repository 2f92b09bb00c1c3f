package httpapi_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

// TestAccessLog: every request to signet's own API logs one line at info
// (an internal error at error), with the request id, method, path, status,
// and the error's cause for a refused request; at warn, a request that
// succeeded or was refused as a client error logs nothing (the line is not
// built: cpucut, docs/performance.md).
func TestAccessLog(t *testing.T) {
	for _, tc := range []struct {
		name   string
		level  slog.Level
		path   string
		tok    bool
		want   []string // substrings of the one line, or none for no line
		status int
	}{
		{"info, success", slog.LevelInfo, "/auth/action/init", true, []string{"msg=request", "req=", "method=POST", "path=/auth/action/init", "org=", "user=", "status=200", "dur="}, 200},
		{"info, refused", slog.LevelInfo, "/auth/action/init", false, []string{"msg=request", "req=", "method=POST", "path=/auth/action/init", "status=401", "err="}, 401},
		{"warn, success", slog.LevelWarn, "/auth/action/init", true, nil, 200},
		{"warn, refused", slog.LevelWarn, "/auth/action/init", false, nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &logBuf{}
			e := newEnv(t, stores(t)["sqlite"](t), func(c *auth.Config) {
				c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: tc.level}))
			})
			u := e.newUser()
			tok := ""
			if tc.tok {
				tok = u.token
			}
			before := len(requestLines(string(logs.bytes())))
			r := e.do("POST", tc.path, tok, map[string]any{"userActionHttpMethod": "POST", "userActionHttpPath": "/x", "userActionPayload": "{}"})
			if r.status != tc.status {
				t.Fatalf("status %d %s", r.status, r.raw)
			}
			lines := requestLines(string(logs.bytes()))[before:]
			if tc.want == nil {
				if len(lines) != 0 {
					t.Fatalf("logged at %s: %q", tc.level, lines)
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("%d request lines, want 1: %q", len(lines), lines)
			}
			for _, w := range tc.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("line %q lacks %q", lines[0], w)
				}
			}
		})
	}
}

func requestLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "msg=request ") {
			out = append(out, l)
		}
	}
	return out
}
