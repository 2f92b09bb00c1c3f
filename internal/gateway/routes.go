package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/strictjson"
)

// Route is one entry of the route file: requests matching Method and Path
// (a net/http ServeMux pattern) need Operation, unless the route is Public.
type Route struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Operation string `json:"operation,omitempty"`
	// Public routes skip authentication altogether; an explicit opt-in.
	Public bool `json:"public,omitempty"`
	// Unsigned exempts a non-GET route from user-action signing; an
	// explicit opt-in, like signet's own action and logout routes.
	Unsigned bool `json:"unsigned,omitempty"`
	// UnsignedQuery names the query parameters a signed route accepts
	// without their being signed (clients such as the Dfns SDKs sign the
	// path only). Any other query must have been signed byte for byte.
	UnsignedQuery []string `json:"unsignedQuery,omitempty"`
	// Upgrade, "websocket", lets a GET route that requires an operation
	// forward a WebSocket upgrade. Any other request with an Upgrade
	// header is refused: once the upstream answers 101, nothing sent on
	// the connection passes through any check.
	Upgrade string `json:"upgrade,omitempty"`

	// metric is the route label of the requests it matched: "upstream "
	// and its path pattern, made once, when the route file is loaded.
	metric string
}

func (rt *Route) String() string { return rt.Method + " " + rt.Path }

// entry is how a Route sits in the private ServeMux that matches requests:
// only ServeMux.Handler is used, to learn which route a request matches, so
// ServeHTTP is never called.
type entry struct{ *Route }

func (entry) ServeHTTP(http.ResponseWriter, *http.Request) {}

// Fallback says what happens to a request no route matches.
type Fallback string

const (
	// Deny refuses it (403) once the caller is authenticated. The default.
	Deny Fallback = "deny"
	// Authenticated forwards it with the same checks as a route without
	// an operation: a valid bearer token, and a user action unless it is
	// a GET or HEAD.
	Authenticated Fallback = "authenticated"
)

// Routes is a validated route file.
type Routes struct {
	operations []string
	routes     []*Route
	fallback   Fallback
	mux        *http.ServeMux
	// paths matches the routes' paths with any method (a pathEntry), and
	// folded their look-alike forms (a *lookEntry), to tell look-alikes
	// (see lookalike); built once, when the file is loaded.
	paths, folded *http.ServeMux
	// upper is whether some route path has a letter that folds, slash
	// whether some route path ends with a slash: when neither holds, a
	// lower-case request path without a trailing slash has no look-alike
	// and lookalike returns at once (the common case on the hot path).
	upper, slash bool
}

// pathEntry is how a route's path sits in Routes.paths: key is its folded
// form, the key of its lookEntry.
type pathEntry struct{ key string }

func (pathEntry) ServeHTTP(http.ResponseWriter, *http.Request) {}

// lookEntry holds every route whose path folds to key (see foldPattern).
type lookEntry struct {
	key    string
	routes []*Route
}

func (*lookEntry) ServeHTTP(http.ResponseWriter, *http.Request) {}

// routeFile is the JSON document operators write.
type routeFile struct {
	// Operations are the operation names the operator declares; permissions
	// may name them like signet's own.
	Operations []string `json:"operations"`
	Routes     []*Route `json:"routes"`
	Default    Fallback `json:"default"`
}

// methods a route may name. CONNECT and TRACE are never forwarded.
var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// LoadRoutes reads and validates a route file.
func LoadRoutes(path string) (*Routes, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rs, err := ParseRoutes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

// ParseRoutes validates a route file strictly, so that a mistake stops
// start-up with a message naming the entry, rather than quietly opening or
// closing a path: unknown fields, duplicate keys, unknown operations, bad or
// conflicting patterns, routes signet serves itself, and contradictory
// flags are all errors.
func ParseRoutes(b []byte) (*Routes, error) {
	if err := strictjson.Check(b); err != nil {
		return nil, fmt.Errorf("not a valid JSON document: %w", err)
	}
	// Exact key names: "Public" is not "public" (encoding/json would take it).
	var f routeFile
	if err := strictjson.DecodeKnown(b, &f); err != nil {
		return nil, fmt.Errorf("invalid route file: %w", err)
	}
	rs := &Routes{fallback: f.Default, mux: http.NewServeMux(), paths: http.NewServeMux(), folded: http.NewServeMux()}
	switch rs.fallback {
	case "":
		rs.fallback = Deny
	case Deny, Authenticated:
	default:
		return nil, fmt.Errorf("default %q must be %q or %q", f.Default, Deny, Authenticated)
	}

	own := auth.AllOperations()
	declared := map[string]bool{}
	for i, op := range f.Operations {
		switch {
		case op == "":
			return nil, fmt.Errorf("operations[%d] is empty", i)
		case declared[op]:
			return nil, fmt.Errorf("operations[%d] %q is declared twice", i, op)
		case slices.Contains(own, op):
			return nil, fmt.Errorf("operations[%d] %q is one of signet's own operations; routes may name it without declaring it", i, op)
		}
		// The shape of the name is checked by auth.New, which owns that rule.
		declared[op] = true
		rs.operations = append(rs.operations, op)
	}
	if len(f.Routes) == 0 && rs.fallback == Deny {
		return nil, errors.New(`no routes and "default": "deny" would refuse every request`)
	}

	seen := map[string]int{}
	looks := map[string]*lookEntry{}
	for i, rt := range f.Routes {
		if rt == nil {
			return nil, fmt.Errorf("routes[%d] is null", i)
		}
		at := fmt.Sprintf("routes[%d] (%s)", i, rt)
		if err := checkRoute(rt, declared, own); err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		if j, ok := seen[rt.String()]; ok {
			return nil, fmt.Errorf("%s: duplicate of routes[%d]", at, j)
		}
		seen[rt.String()] = i
		if err := register(rs.mux, rt); err != nil {
			// Find which earlier route it conflicts with, for the message.
			for j := range i {
				if conflict(f.Routes[j], rt) != nil {
					return nil, fmt.Errorf("%s: conflicts with routes[%d] (%s): %s", at, j, f.Routes[j], reason(err))
				}
			}
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		rt.metric = "upstream " + rt.Path
		rs.routes = append(rs.routes, rt)
		rs.addLookalike(rt, looks)
	}
	return rs, nil
}

// addLookalike records rt's path for lookalike. Routes of one path with
// several methods, and paths that fold to one (/a and /A, /a/{x} and
// /A/{y}), share one lookEntry.
func (rs *Routes) addLookalike(rt *Route, looks map[string]*lookEntry) {
	key := foldPattern(rt.Path)
	rs.upper = rs.upper || strings.ToLower(rt.Path) != rt.Path
	rs.slash = rs.slash || strings.HasSuffix(rt.Path, "/") || strings.HasSuffix(rt.Path, "/{$}")
	// Two paths that differ only by wildcard names conflict in paths; the
	// first answers, with the same key.
	_ = registerHandler(rs.paths, rt.Path, pathEntry{key})
	if le, ok := looks[key]; ok {
		le.routes = append(le.routes, rt)
		return
	}
	le := &lookEntry{key: key, routes: []*Route{rt}}
	looks[key] = le
	// A folded pattern that still conflicts with another (ServeMux finds
	// some pairs ambiguous) is left out; it cannot hide a route from its
	// own exact spelling, which paths and mux match.
	_ = registerHandler(rs.folded, key, le)
}

// foldPattern is the form of a route path that look-alikes match: letters
// in lower case and wildcards renamed by position ({w0}, {w1...}), so that
// /A/{id} and /a/{x} fold to one key.
func foldPattern(p string) string {
	segs := strings.Split(strings.ToLower(p), "/")
	n := 0
	for i, s := range segs {
		if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' || s == "{$}" {
			continue
		}
		name := fmt.Sprintf("w%d", n)
		n++
		if strings.HasSuffix(s, "...}") {
			name += "..."
		}
		segs[i] = "{" + name + "}"
	}
	return strings.Join(segs, "/")
}

// checkRoute validates one route on its own.
func checkRoute(rt *Route, declared map[string]bool, own []string) error {
	if !slices.Contains(methods, rt.Method) {
		return fmt.Errorf("method %q must be one of %s", rt.Method, strings.Join(methods, ", "))
	}
	p := rt.Path
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q must start with / (host patterns are not supported)", p)
	case strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("path %q must not contain spaces or control characters", p)
	case isOwn(literalPrefix(p)):
		return fmt.Errorf("path %q is served by signet itself (%s)", p, ownPaths)
	}
	safe := rt.Method == "GET" || rt.Method == "HEAD"
	switch {
	case rt.Public && rt.Operation != "":
		return errors.New(`a public route needs no operation: remove "operation" or "public"`)
	case rt.Public && rt.Unsigned:
		return errors.New(`"unsigned" has no meaning on a public route`)
	case !rt.Public && rt.Operation == "":
		return errors.New(`"operation" is required (or "public": true to skip authentication)`)
	case rt.Unsigned && safe:
		return fmt.Errorf(`%s requests are never user-action signed: remove "unsigned"`, rt.Method)
	case rt.Method == "OPTIONS" && !rt.Public && !rt.Unsigned:
		return errors.New(`OPTIONS requests cannot be user-action signed: mark the route "public" or "unsigned"`)
	case rt.Operation != "" && !declared[rt.Operation] && !slices.Contains(own, rt.Operation):
		return fmt.Errorf("operation %q is neither declared in \"operations\" nor one of signet's own", rt.Operation)
	case len(rt.UnsignedQuery) > 0 && (safe || rt.Public || rt.Unsigned):
		return errors.New(`"unsignedQuery" applies to user-action signed routes only (not GET, HEAD, public or unsigned)`)
	case rt.Upgrade != "" && rt.Upgrade != "websocket":
		return fmt.Errorf(`"upgrade" %q must be "websocket"`, rt.Upgrade)
	case rt.Upgrade != "" && (rt.Method != "GET" || rt.Operation == ""):
		return errors.New(`an "upgrade" route must be a GET that requires an operation`)
	}
	for i, name := range rt.UnsignedQuery {
		switch {
		case name == "":
			return fmt.Errorf("unsignedQuery[%d] is empty", i)
		case slices.Contains(rt.UnsignedQuery[:i], name):
			return fmt.Errorf("unsignedQuery[%d] %q is listed twice", i, name)
		}
	}
	return nil
}

// register adds rt to mux, turning the panic ServeMux raises for a bad or
// conflicting pattern into an error.
func register(mux *http.ServeMux, rt *Route) error {
	return registerPattern(mux, rt.String(), rt)
}

func registerPattern(mux *http.ServeMux, pattern string, rt *Route) error {
	return registerHandler(mux, pattern, entry{rt})
}

func registerHandler(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid pattern: %v", r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// conflict reports whether a and b cannot be registered together.
func conflict(a, b *Route) error {
	mux := http.NewServeMux()
	if err := register(mux, a); err != nil {
		return err
	}
	return register(mux, b)
}

// reason keeps the explanation of a ServeMux conflict panic and drops the
// "registered at file:line" preamble, which names signet's source, not the
// route file.
func reason(err error) string {
	s := err.Error()
	if _, after, ok := strings.Cut(s, ":\n"); ok {
		return strings.ReplaceAll(after, "\n", " ")
	}
	return s
}

// literalPrefix is the part of a pattern path before its first wildcard.
func literalPrefix(p string) string {
	if i := strings.IndexByte(p, '{'); i >= 0 {
		return p[:i]
	}
	return p
}

const ownPaths = "/auth/..., /permissions..., /v2/policies..., /v2/policy-approvals..., /healthz, /readyz, /.well-known/jwks.json"

// isOwn reports whether signet serves path itself rather than the upstream.
func isOwn(path string) bool {
	return under(path, "/auth") || under(path, "/permissions") ||
		under(path, "/v2/policies") || under(path, "/v2/policy-approvals") || // docs/policies.md
		path == "/healthz" || path == "/readyz" || path == "/.well-known/jwks.json" ||
		path == "/openapi.json" // signet's document, which describes the route file too
}

// under reports whether path is prefix or below it.
func under(path, prefix string) bool {
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/')
}

// Operations returns the operation names the file declares, for
// auth.Config.ExtraOperations. A nil *Routes declares none.
func (rs *Routes) Operations() []string {
	if rs == nil {
		return nil
	}
	return slices.Clone(rs.operations)
}

// Routes returns the routes of the file, in order.
func (rs *Routes) Routes() []Route {
	out := make([]Route, len(rs.routes))
	for i, rt := range rs.routes {
		out[i] = *rt
	}
	return out
}

// Fallback returns what happens to requests no route matches.
func (rs *Routes) Fallback() Fallback { return rs.fallback }

// lookalike returns a declared route that r's path matches only once
// letter case is ignored or a trailing slash is added or removed, and that
// asks more of r than rt, the route r actually matched (nil: the default),
// or nil when there is none. Many upstream frameworks (Express, Spring
// before 6, ...) route /ADMIN/x and /orders/1/ as /admin/x and
// /orders/{id}; the gateway must not forward them under a weaker route
// (a public catch-all, another operation) or the default.
//
// Under the default every look-alike is refused. A path whose own exact
// match (with any method) folds to the same pattern is not a look-alike:
// a declared case variant (/Docs beside /docs), or the same path with a
// method no route has, goes by its own route or the default.
func (rs *Routes) lookalike(r *http.Request, rt *Route) *Route {
	p := r.URL.Path
	lower := strings.ToLower(p)
	trailing := strings.HasSuffix(p, "/")
	if !rs.upper && !rs.slash && !trailing && lower == p {
		return nil
	}
	exact := ""
	if h, _ := rs.paths.Handler(probe(r, p)); h != nil {
		if pe, ok := h.(pathEntry); ok {
			exact = pe.key
		}
	}
	toggled := lower + "/"
	if trailing {
		toggled = strings.TrimSuffix(lower, "/")
	}
	for _, c := range [2]string{lower, toggled} {
		if c == "" {
			continue
		}
		h, _ := rs.folded.Handler(probe(r, c))
		le, ok := h.(*lookEntry)
		if !ok || le.key == exact {
			continue
		}
		for _, la := range le.forMethod(r.Method) {
			if rt == nil || asksMore(la, rt, r.Method) {
				return la
			}
		}
	}
	return nil
}

// probe is a request for path alone, to ask a ServeMux about.
func probe(r *http.Request, path string) *http.Request {
	return &http.Request{Method: r.Method, Host: r.Host, URL: &url.URL{Path: path}}
}

// forMethod returns the routes of le that serve method, or all of them
// when none does: a look-alike of a path declared for other methods only
// is still a spelling of a guarded path.
func (le *lookEntry) forMethod(method string) []*Route {
	var out []*Route
	for _, rt := range le.routes {
		if rt.Method == method || (rt.Method == http.MethodGet && method == http.MethodHead) {
			out = append(out, rt)
		}
	}
	if out == nil {
		return le.routes
	}
	return out
}

// asksMore reports whether la demands of a request of method something
// that rt does not: authentication, a user action, or an operation other
// than rt's.
func asksMore(la, rt *Route, method string) bool {
	safe := method == http.MethodGet || method == http.MethodHead
	signed := func(x *Route) bool { return !safe && !x.Public && !x.Unsigned }
	return (!la.Public && rt.Public) || (signed(la) && !signed(rt)) ||
		(la.Operation != "" && la.Operation != rt.Operation)
}

// match returns the route r matches, or nil. The path must already be
// canonical (see checkTarget): ServeMux would otherwise answer with a
// redirect handler, which counts as no match.
func (rs *Routes) match(r *http.Request) *Route {
	h, _ := rs.mux.Handler(r)
	e, _ := h.(entry)
	return e.Route
}
