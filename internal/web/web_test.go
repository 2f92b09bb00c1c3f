package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	Handler(Passkeys{RPID: "localhost", Origins: []string{"http://localhost:8080"}}).ServeHTTP(w, r)
	return w.Result()
}

func TestHandlerServesPageAndAssets(t *testing.T) {
	tests := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/assets/app.js">`},
		{"/assets/app.js", "text/javascript; charset=utf-8", "sessionStorage"},
		{"/assets/dfns.js", "text/javascript; charset=utf-8", "/auth/action/init"},
		{"/assets/style.css", "text/css; charset=utf-8", ":focus-visible"},
		{"/assets/favicon.svg", "image/svg+xml", "<svg"},
		{"/assets/passkeys.json", "application/json", `{"rpId":"localhost","origins":["http://localhost:8080"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := serve(t, "GET", tt.path, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
			if res.Header.Get("ETag") == "" || res.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("ETag %q, Cache-Control %q", res.Header.Get("ETag"), res.Header.Get("Cache-Control"))
			}
			checkSecurityHeaders(t, res)
		})
	}
}

func checkSecurityHeaders(t *testing.T, res *http.Response) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": CSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestCSPIsStrict(t *testing.T) {
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "data:", "http:", "https:"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP allows %q: %s", bad, CSP)
		}
	}
	for _, need := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(CSP, need) {
			t.Errorf("CSP lacks %q: %s", need, CSP)
		}
	}
}

// The CSP forbids inline script and style, so the page must have none: no <script> with a
// body, no on* handler attributes, no style attributes or <style> elements.
func TestPageHasNothingInline(t *testing.T) {
	res := serve(t, "GET", "/", nil)
	body, _ := io.ReadAll(res.Body)
	page := string(body)
	for _, re := range []string{`<script[^>]*>[^<]+</script>`, `(?i)\son[a-z]+\s*=`, `(?i)\sstyle\s*=`, `(?i)<style`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("page has inline content %q (matches %s)", m, re)
		}
	}
}

func TestHandlerNotFound(t *testing.T) {
	for _, p := range []string{"/assets/", "/assets/nope.js", "/assets/../index.html", "/index.html", "/static/index.html", "/assets/app.js/", "/favicon.ico"} {
		t.Run(p, func(t *testing.T) {
			res := serve(t, "GET", p, nil)
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404", res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var b struct {
				Error struct {
					Status int    `json:"status"`
					Code   string `json:"code"`
				} `json:"error"`
			}
			if err := json.NewDecoder(res.Body).Decode(&b); err != nil || b.Error.Status != 404 || b.Error.Code != "not_found" {
				t.Errorf("body %+v, err %v", b, err)
			}
			checkSecurityHeaders(t, res)
		})
	}
}

func TestHandlerMethods(t *testing.T) {
	res := serve(t, "HEAD", "/assets/app.js", nil)
	if res.StatusCode != http.StatusOK {
		t.Errorf("HEAD: status %d, want 200", res.StatusCode)
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		res := serve(t, m, "/", nil)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: status %d, Allow %q", m, res.StatusCode, res.Header.Get("Allow"))
		}
	}
}

func TestHandlerRevalidates(t *testing.T) {
	etag := serve(t, "GET", "/assets/style.css", nil).Header.Get("ETag")
	res := serve(t, "GET", "/assets/style.css", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("status %d with If-None-Match, want 304", res.StatusCode)
	}
}

// With passkeys off the page learns so from passkeys.json (an empty RP id
// and no origins, never null).
func TestPasskeysOff(t *testing.T) {
	w := httptest.NewRecorder()
	Handler(Passkeys{}).ServeHTTP(w, httptest.NewRequest("GET", "/assets/passkeys.json", nil))
	if got := w.Body.String(); w.Code != 200 || got != `{"rpId":"","origins":[]}` {
		t.Errorf("passkeys.json with passkeys off: %d %s", w.Code, got)
	}
}
