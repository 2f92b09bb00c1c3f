// Package web serves signet's account page: a hand-written HTML page, one
// stylesheet and plain ES modules, embedded in the binary so that running
// the server needs no build step (issue 4). The page talks to the same
// /auth/... API as the official SDKs, with the same wire shapes, and signs
// every change as a user action with a passkey.
//
// Handler answers "/" with the page and "/assets/<name>" with the assets;
// everything else it answers 404. It sets a strict Content-Security-Policy
// (no inline script or style, no third-party origins, no framing) on every
// response, so a script injected into the page could not run.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"time"
)

//go:embed static
var static embed.FS

// CSP is the Content-Security-Policy of every response: only this origin's
// files, no inline script or style (the page has none), no plugins, no
// framing, forms only to this origin, no <base> rewriting. connect-src
// 'self' is all the page needs: it calls the API on its own origin.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes are the only file types the page is made of; a file with
// another extension is not served (a deliberate short list, so the answer
// never depends on the host's MIME database).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

type file struct {
	body        []byte
	contentType string
	etag        string
}

type handler struct {
	files map[string]*file // by URL path: "/" and "/assets/<name>"
}

// Passkeys is the server's WebAuthn setting, which the page reads from
// /assets/passkeys.json on load so that it can tell a person at once when
// passkeys are off or the page is open at an origin they will fail on,
// and how to fix it. Both values are public anyway: every registration and
// login challenge names the RP id, and the origins are where the page is.
type Passkeys struct {
	RPID    string   `json:"rpId"`    // "" when passkeys are off
	Origins []string `json:"origins"` // the origins WebAuthn ceremonies may come from
}

// Handler returns the http.Handler for the page. Mount it for "GET /{$}"
// and "GET /assets/" (HEAD included); it answers any other path with 404.
func Handler(pk Passkeys) http.Handler {
	h := &handler{files: map[string]*file{}}
	put := func(urlPath, ct string, b []byte) {
		sum := sha256.Sum256(b)
		h.files[urlPath] = &file{body: b, contentType: ct, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	}
	add := func(urlPath, name string) {
		b, err := fs.ReadFile(static, name)
		if err != nil {
			panic("web: embedded file missing: " + name) // a build defect, caught by the tests
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return
		}
		put(urlPath, ct, b)
	}
	if pk.Origins == nil {
		pk.Origins = []string{}
	}
	b, err := json.Marshal(pk)
	if err != nil {
		panic("web: passkeys.json: " + err.Error()) // strings only: cannot fail
	}
	put("/assets/passkeys.json", "application/json", b)
	add("/", "static/index.html")
	entries, err := fs.ReadDir(static, "static/assets")
	if err != nil {
		panic("web: embedded assets missing")
	}
	for _, e := range entries {
		if !e.IsDir() {
			add("/assets/"+e.Name(), "static/assets/"+e.Name())
		}
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	f := h.files[r.URL.Path]
	if f == nil {
		writeError(w, http.StatusNotFound, "not_found", "no such page")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "not_allowed", "method not allowed")
		return
	}
	hd.Set("Content-Type", f.contentType)
	// No fingerprinted file names, so browsers revalidate every time; the
	// ETag makes that a 304 without a body.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// writeError answers in signet's error shape (every response is JSON,
// spec 12.10), so a client that hits the page's paths by mistake can still
// parse the answer.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b struct {
		Error struct {
			Status  int    `json:"status"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	b.Error.Status, b.Error.Code, b.Error.Message = status, code, msg
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(b)
}
