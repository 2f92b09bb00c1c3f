// Package openapitest checks real HTTP traffic against signet's OpenAPI
// document with kin-openapi, and keeps, for every documented operation,
// the first exchange that validated as its example.
//
// A test wraps the handler it serves with Book.Wrap; every request and
// response going through is validated (a refused request need not fit the
// document, its answer must), and a successful exchange that fits becomes
// its operation's example. Missing then names the operations that still
// have none: httpapi's tests fail on it, so a new route cannot be added
// without an exchange that proves its declared types.
package openapitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// base is the server URL the document is matched against; the requests'
// own host does not matter.
const base = "http://signet.test"

// Exchange is one request and its response as sent on the wire.
type Exchange struct {
	Method, Path, Query string
	ReqHeader           http.Header
	ReqBody             []byte
	Status              int
	ResHeader           http.Header
	ResBody             []byte
}

// Book validates exchanges against one OpenAPI document and records the
// first validated successful exchange of each operation.
type Book struct {
	// Enough, when positive, is how many exchanges of each operation and
	// status Check validates; it passes the rest unchecked, so a test
	// suite that sends thousands of the same request pays for a few.
	Enough int

	doc    *openapi3.T
	router routers.Router

	mu       sync.Mutex
	checked  map[string]int      // exchanges validated per "operation status"
	examples map[string]Exchange // "METHOD /path/{param}" -> example
	refusals map[string]Exchange // the same, for validated refusals (4xx, 5xx)
}

// New loads raw (the document signet serves at GET /openapi.json), checks
// that it is a valid OpenAPI 3.1 document and returns a Book for it.
func New(raw []byte) (*Book, error) {
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("kin-openapi cannot load the document: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("kin-openapi refuses the document: %w", err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &Book{doc: doc, router: router, checked: map[string]int{}, examples: map[string]Exchange{}, refusals: map[string]Exchange{}}, nil
}

// FromHandler fetches GET /openapi.json from h and returns its Book.
func FromHandler(h http.Handler) (*Book, error) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("GET /openapi.json: %d", rec.Code)
	}
	return New(rec.Body.Bytes())
}

// Doc is the loaded document.
func (b *Book) Doc() *openapi3.T { return b.doc }

// ErrUndocumented is returned by Check for an exchange no documented
// operation matches.
var ErrUndocumented = errors.New("no documented operation")

// Check validates x: its request (parameters, headers, body) when the
// server accepted it, and always its response (status, headers, body). It
// returns the operation ("METHOD /path/{param}") and, when x succeeded and
// fits, records it as the operation's example if it has none yet.
func (b *Book) Check(x Exchange) (string, error) {
	u := base + x.Path
	if x.Query != "" {
		u += "?" + x.Query
	}
	req, err := http.NewRequest(x.Method, u, bytes.NewReader(x.ReqBody))
	if err != nil {
		return "", err
	}
	req.Header = x.ReqHeader.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	route, params, err := b.router.FindRoute(req)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", x.Method, x.Path, ErrUndocumented)
	}
	op := route.Method + " " + route.Path
	if b.Enough > 0 {
		key := op + " " + strconv.Itoa(x.Status)
		b.mu.Lock()
		n := b.checked[key]
		b.checked[key]++
		b.mu.Unlock()
		if n >= b.Enough {
			return op, nil
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	// A request the server refused need not fit the document (that is why
	// it was refused); one it accepted must.
	if x.Status < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return op, fmt.Errorf("%s %s: the request does not fit the document: %.600v\n%.300s", x.Method, x.Path, err, x.ReqBody)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.ResHeader,
		Body: io.NopCloser(bytes.NewReader(x.ResBody)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return op, fmt.Errorf("%s %s -> %d: the response does not fit the document: %.600v\n%.300s", x.Method, x.Path, x.Status, err, x.ResBody)
	}
	b.mu.Lock()
	if x.Status >= 200 && x.Status < 300 {
		if _, ok := b.examples[op]; !ok {
			b.examples[op] = x
		}
	} else if _, ok := b.refusals[op]; !ok {
		b.refusals[op] = x
	}
	b.mu.Unlock()
	return op, nil
}

// Wrap serves h, checking every exchange with Check; fail is called with
// each error (undocumented paths included), from the serving goroutine.
func (b *Book) Wrap(h http.Handler, fail func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		reqHeader := r.Header.Clone()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		// Checked before the client has its answer, so a failure is
		// reported while the test that made the call still runs.
		x := Exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ReqHeader: reqHeader, ReqBody: body,
			Status: rec.Code, ResHeader: rec.Header().Clone(), ResBody: rec.Body.Bytes()}
		if _, err := b.Check(x); err != nil && fail != nil {
			fail(err)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// Example is the recorded example of op ("METHOD /path/{param}").
func (b *Book) Example(op string) (Exchange, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	x, ok := b.examples[op]
	return x, ok
}

// Operations lists every operation of the document, sorted.
func (b *Book) Operations() []string {
	var ops []string
	for path, pi := range b.doc.Paths.Map() {
		for method := range pi.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// Missing lists the operations with no validated successful example yet,
// sorted. An operation in refusalOnly (one that never succeeds, such as a
// lookup in a collection that is always empty) needs a validated refusal
// instead.
func (b *Book) Missing(refusalOnly map[string]string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var miss []string
	for _, op := range b.Operations() {
		have := b.examples
		if _, ok := refusalOnly[op]; ok {
			have = b.refusals
		}
		if _, ok := have[op]; !ok {
			miss = append(miss, op)
		}
	}
	return miss
}
