// Package gateway puts signet in front of another HTTP API:
//
//	signet serve --upstream http://orders.internal:8080 --routes routes.json
//
// signet then serves its own paths itself (/auth/..., /permissions...,
// /v2/policies..., /v2/policy-approvals...,
// /healthz, /readyz, /.well-known/jwks.json) and forwards every other request to the
// upstream, but only after the checks signet applies to its own routes, in
// the same order and with the same rules (internal/auth decides; this
// package only says which checks a request needs):
//
//  1. a bearer token (login, PAT or service account) that verifies and is
//     still active: revocation applies to the very next request (spec 12.9);
//  2. for anything but GET and HEAD, a user action (X-DFNS-USERACTION) bound
//     to this identity, method, path, query and body, spent atomically so it
//     works once (spec 4.5, 12.1-12.3): the query received must be the
//     signed one byte for byte, but for the parameters the route lists in
//     "unsignedQuery";
//  3. the operation the route file names for the route, held through the
//     caller's permissions (spec 12.8).
//
// # Route file
//
// JSON, validated strictly at start-up (unknown fields, duplicate keys,
// unknown operations, bad or conflicting patterns, paths signet serves, and
// contradictory flags stop the server with a message naming the entry):
//
//	{
//	  "operations": ["Orders:Create", "Orders:Read"],
//	  "routes": [
//	    {"method": "POST", "path": "/orders", "operation": "Orders:Create", "unsignedQuery": ["page"]},
//	    {"method": "GET", "path": "/orders/{id}", "operation": "Orders:Read"},
//	    {"method": "GET", "path": "/orders/live", "operation": "Orders:Read", "upgrade": "websocket"},
//	    {"method": "POST", "path": "/orders/{id}/ping", "operation": "Orders:Read", "unsigned": true},
//	    {"method": "GET", "path": "/public/{rest...}", "public": true}
//	  ],
//	  "default": "deny"
//	}
//
// "operations" declares the operator's own operation names (two to four
// Words:Separated:ByColons); permissions may then name them like signet's
// own, and routes may name either. Paths are net/http ServeMux patterns
// (wildcards, {rest...}, {$}); a GET route also matches HEAD; the most
// specific pattern wins. "public": true skips authentication altogether.
// "unsigned": true exempts a non-GET route from user-action signing. Both
// are explicit opt-ins. "default" says what happens to a request no route
// matches: "deny" (the default; 403 once the caller is authenticated, so an
// anonymous caller learns nothing about the table) or "authenticated"
// (forwarded with checks 1 and 2 and no operation).
//
// "unsignedQuery" names query parameters a signed route accepts without
// their being signed (the Dfns TypeScript SDK signs the URL's pathname
// only). Any other query a signed request carries must be exactly the signed
// one, else 403 before the upstream is contacted; a parameter the signer did
// sign must arrive as signed. "upgrade": "websocket" lets a GET route that
// requires an operation forward WebSocket upgrades (see Headers). Keys are
// matched exactly: "Public" is an error, not "public".
//
// # What the upstream receives
//
// The request as sent, minus the caller's credentials (Authorization,
// X-DFNS-USERACTION), minus hop-by-hop headers (those of RFC 9110 7.6.1 and
// any the client listed in Connection), minus every header whose name starts
// with X-Signet- or X-Forwarded-, and Forwarded (compared case-insensitively
// and with '_' equal to '-', since CGI-style servers read X-Signet_User-Id as
// X-Signet-User-Id). Then the gateway adds:
//
//	X-Signet-Org-Id, X-Signet-User-Id, X-Signet-Token-Id, X-Signet-Token-Kind
//	    the verified caller (not on public routes); Token-Kind is Token
//	    (login), Pat or ServiceAccount
//	X-Signet-Action-Id
//	    the user action (uj-…) a signed request spent
//	X-Request-Id
//	    the caller's if it sent a short one, else a new one; also returned
//	X-Forwarded-For
//	    the client's address appended to what the client sent, as
//	    httputil.ReverseProxy does: trust only entries your own proxies added
//	X-Forwarded-Host, X-Forwarded-Proto
//	    the gateway's own view
//
// The upstream must be reachable only through the gateway, or anyone could
// send it X-Signet-* headers.
//
// # Headers refused
//
// Method-override headers (X-HTTP-Method-Override, X-Method-Override,
// X-HTTP-Method, in any case and with '_' for '-') are refused with 400 on
// every route, public ones included. The gateway checks the request's own
// method (a GET needs no user action); an upstream that honoured the header
// would run another. Refusing rather than stripping was chosen because the
// gateway cannot know which upstreams honour them, and a client that sends
// one expects it to work: a clear 400 beats a silent change of meaning.
//
// Upgrade is refused with 400 unless the route says "upgrade": "websocket"
// and the request asks for exactly that protocol: once the upstream answers
// 101, nothing sent on the connection passes through any check, so only a
// GET route that requires an operation may opt in (checked at start-up).
//
// # Bodies
//
// A request that must be user-action signed is read whole, up to --max-body,
// before anything is forwarded: its bytes must be compared with the signed
// payload first, and forwarding while reading would let an unverified
// request reach the upstream. The verified bytes are then replayed to the
// upstream, so it receives exactly what was signed. As on signet's own
// routes, such a body must be application/json (spec 12.2). Every other
// body (GET and HEAD, unsigned and public routes) streams to the upstream as
// it arrives and is cut off at --upstream-max-stream. Either limit answers
// 413, before the upstream is contacted when Content-Length announces it.
//
// # Request targets
//
// A path with dot or empty segments, a backslash, an encoded slash or
// backslash, a ';' (raw or %3B: Tomcat, Jetty and Spring read
// /public/..;/admin/x as /admin/x), or a control character, and a query
// string that does not parse, are refused (400) rather than normalised: the
// route table and the upstream must never read one request as two
// different paths.
//
// A path that matches a declared route's pattern only once letter case is
// ignored or a trailing slash is added or removed (/ADMIN/x, /orders/1/
// beside /admin/x and /orders/{id}) is refused (403), never forwarded,
// when that look-alike route asks more than the route the path actually
// matched: authentication (the matched route is public), a user action
// (the matched route is unsigned), or an operation other than the matched
// route's. Under "default": "authenticated" every look-alike of a path
// no route matches is refused. Express and many other frameworks route
// such spellings to the same handler. The check is made on a public route
// before anything else, elsewhere once the caller is authenticated
// (anonymous callers of a guarded path get 401 and learn nothing about the
// route table). Not look-alikes: a declared case variant (a route for
// /Reports/{n} beside /reports/{id}) and a declared path with a method no
// route has, which go by their own route or the default. The look-alike
// forms are computed when the route file is loaded; a lower-case path
// without a trailing slash costs no extra lookup unless a route path has
// upper-case letters or ends with a slash.
//
// # Rate limits
//
// Requests bound for the upstream are rate limited before the upstream is
// contacted, with the limiter and budgets of signet's own routes
// (Config.Limits, httpapi.RateLimits, docs/abuse.md): per identity once
// the caller is authenticated (one budget with signet's own routes), per
// client address on public routes (a budget apart from logins) and when a
// credential is missing or fails (the budget of failed credentials on
// signet's own routes). A refusal is a 429 JSON error with Retry-After.
// --rate-limit off turns them off.
//
// # Bodies compared exactly
//
// A signed body and its signed payload are compared as JSON values
// (internal/strictjson): invalid UTF-8, lone surrogate escapes and keys of
// one object differing only in letter case are refused with 400 in either,
// since encoding/json would read two different inputs alike.
//
// # Errors
//
// The gateway's own refusals use the JSON error body and statuses of
// signet's API (spec 12.10). When the upstream cannot be reached the caller
// gets 502 {"code": "bad_gateway"}; when its response headers do not arrive
// within --upstream-timeout, 504 {"code": "gateway_timeout"}. The cause is
// logged and never sent. Responses, errors included, that the upstream
// sends pass through unchanged.
package gateway
