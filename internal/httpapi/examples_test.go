package httpapi_test

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/signet-auth/signet/internal/httpapi"
	"github.com/signet-auth/signet/internal/openapitest"
)

// examples validates every exchange of every test of this package that
// serves through newEnv or recordExamples against GET /openapi.json, and
// keeps one validated example per operation (internal/openapitest).
var examples struct {
	once     sync.Once
	book     *openapitest.Book
	err      error
	mu       sync.Mutex
	failures []string
}

// recordExamples wraps h (a signet API handler) so that its traffic is
// validated against the document and recorded as examples (up to 20
// exchanges of each operation and status; none in benchmarks). A misfit is
// reported at the end of the package's run, naming the test that made it.
func recordExamples(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	if _, bench := t.(*testing.B); bench {
		return h // benchmarks measure the server, not the validator
	}
	examples.once.Do(func() {
		examples.book, examples.err = openapitest.FromHandler(h)
		if examples.book != nil {
			// The same request thousands of times (the escalation and
			// rate-limit tests) is validated a few times.
			examples.book.Enough = 20
		}
	})
	if examples.err != nil {
		t.Fatal(examples.err)
	}
	name := t.Name()
	return examples.book.Wrap(h, func(err error) {
		if errors.Is(err, openapitest.ErrUndocumented) {
			return // the web page, or a path that is not signet's
		}
		examples.mu.Lock()
		examples.failures = append(examples.failures, name+": "+err.Error())
		examples.mu.Unlock()
	})
}

// refusalOnly are the operations that never succeed, with why; each needs
// a validated refusal as its example instead.
var refusalOnly = map[string]string{
	"GET /auth/apps/{appId}": "signet keeps no applications: every id is 404 (auth.Application, docs/surface.md)",
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if msg := checkExamples(); msg != "" {
		fmt.Fprint(os.Stderr, msg)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// checkExamples reports the exchanges that did not fit the document, and,
// when the whole package ran (no -run, -skip or -short), every operation
// without a validated example.
func checkExamples() string {
	var b strings.Builder
	examples.mu.Lock()
	for _, f := range examples.failures {
		fmt.Fprintf(&b, "--- FAIL: openapi examples: %s\n", f)
	}
	examples.mu.Unlock()
	whole := flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" && !testing.Short()
	if examples.book == nil || !whole {
		return b.String()
	}
	for _, op := range examples.book.Missing(refusalOnly) {
		fmt.Fprintf(&b, "--- FAIL: openapi examples: %s has no validated example. Call it successfully (2xx) in a test of internal/httpapi that serves "+
			"through newEnv or recordExamples (TestOpenAPI in openapi_test.go drives most routes; add the call there), "+
			"and declare its body types with one line in bodies in internal/httpapi/openapi.go: %q: {requestType{}, responseType{}},\n",
			op, op)
	}
	return b.String()
}

// TestOpenAPIDeclaresEveryRoute: every route of the table declares its
// request and response types, so the document describes its bodies
// exactly rather than as any object.
func TestOpenAPIDeclaresEveryRoute(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	for _, r := range httpapi.UndeclaredBodies(e.api.(*httpapi.Server)) {
		t.Errorf("route %s declares no body types: add one line to bodies in internal/httpapi/openapi.go: %q: {requestType{}, responseType{}}, "+
			"(nil for no request body; a response of nil also needs the route in noContent)", r, r)
	}
}
