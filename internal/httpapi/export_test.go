package httpapi

// RouteInfo describes one route of the table, for tests that walk it.
type RouteInfo struct {
	Method, Pattern, Operation string
	Public, Signed             bool
}

// Routes returns the route table of s.
func Routes(s *Server) []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes() {
		out = append(out, RouteInfo{Method: rt.method, Pattern: rt.pattern, Operation: rt.op, Public: rt.access == public, Signed: rt.signed()})
	}
	return out
}

// NoOperation is the marker of routes that deliberately need none.
const NoOperation = noOperation

// Neutralize exposes the CSV cell neutralisation of the audit listing.
var Neutralize = neutralize

// UndeclaredBodies lists the routes of s with no line in bodies
// (openapi.go).
func UndeclaredBodies(s *Server) []string { return undeclaredBodies(s.routes()) }
