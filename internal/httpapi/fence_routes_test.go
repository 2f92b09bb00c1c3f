package httpapi

import (
	"net/http"
	"slices"
	"testing"
)

// unfencedRoutes is the whole list of routes that are not GETs and answer
// without the fence: each is run by TestUnfencedRoutesQuiet, which shows it
// sends no invalidation. A route that is not on it is fenced.
var unfencedRoutes = []string{
	"POST /auth/registration/init",
	"POST /auth/login/init",
	"POST /auth/login",
	"POST /auth/login/code",
	"POST /auth/login/sso/init",
	"POST /auth/action/init",
	"POST /auth/action",
	"POST /auth/action/verify",
	"PUT /auth/registration/code",
	"POST /auth/credentials/init",
	"POST /auth/credentials/code/init",
	"POST /auth/recover/user/code",
	"POST /auth/recover/user/init",
}

// TestFencedByDefault: every route that is not a GET is fenced but for the
// short list above, and logout and recovery (which end sessions) are
// fenced.
func TestFencedByDefault(t *testing.T) {
	var s Server
	var got []string
	fenced := map[string]bool{}
	for _, rt := range s.routes() {
		k := rt.method + " " + rt.pattern
		fenced[k] = rt.fenced()
		if rt.method == http.MethodGet && rt.fenced() {
			t.Errorf("%s is fenced: a GET changes nothing", k)
		}
		if rt.method != http.MethodGet && !rt.fenced() {
			got = append(got, k)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(unfencedRoutes))
	if !slices.Equal(got, want) {
		t.Errorf("unfenced routes %q, want exactly %q", got, want)
	}
	for _, k := range []string{"PUT /auth/logout", "POST /auth/recover/user", "POST /auth/recover/user/delegated",
		"PUT /auth/pats/{tokenId}/deactivate", "PUT /auth/users/{userId}/deactivate", "PUT /auth/credentials/deactivate",
		"DELETE /permissions/{permissionId}/assignments/{assignmentId}"} {
		if !fenced[k] {
			t.Errorf("%s is not fenced", k)
		}
	}
}

// UnfencedRoutes exposes the list to the external tests.
func UnfencedRoutes() []string { return unfencedRoutes }
