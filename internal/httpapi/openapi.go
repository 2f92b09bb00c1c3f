package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/signet-auth/signet/internal/auth"
)

// DocRoute is a route of another surface served beside the API (the
// gateway's route file), described in GET /openapi.json.
type DocRoute struct {
	Method, Path string
	Operation    string // "" when Public
	Public       bool   // no bearer token
	Signed       bool   // needs X-DFNS-USERACTION
}

// bodies are the Go types of the JSON bodies of the routes whose handler
// decodes or answers a known type, keyed "METHOD pattern"; the document
// derives their schemas by reflection (kin-openapi's openapi3gen). A route
// missing here is documented with any JSON object.
var bodies = map[string]struct{ req, resp any }{
	"POST /auth/registration/init":                             {registrationInitRequest{}, auth.RegistrationChallenge{}},
	"POST /auth/registration":                                  {auth.RegisterRequest{}, registeredJSON{}},
	"POST /auth/login/init":                                    {loginInitRequest{}, auth.SignChallenge{}},
	"PUT /auth/logout":                                         {logoutRequest{}, message{}},
	"POST /auth/action/init":                                   {auth.ActionRequest{}, auth.SignChallenge{}},
	"GET /auth/users":                                          {nil, list[userJSON]{}},
	"PUT /auth/users/{userId}":                                 {nil, userJSON{}},
	"GET /auth/pats":                                           {nil, list[tokenJSON]{}},
	"PUT /auth/pats/{tokenId}":                                 {auth.UpdateTokenRequest{}, tokenJSON{}},
	"PUT /auth/pats/{tokenId}/activate":                        {nil, tokenJSON{}},
	"PUT /auth/pats/{tokenId}/deactivate":                      {nil, tokenJSON{}},
	"DELETE /auth/pats/{tokenId}":                              {nil, tokenJSON{}},
	"POST /auth/service-accounts":                              {nil, serviceAccountJSON{}},
	"GET /auth/service-accounts":                               {nil, list[serviceAccountJSON]{}},
	"GET /auth/service-accounts/{serviceAccountId}":            {nil, serviceAccountJSON{}},
	"PUT /auth/service-accounts/{serviceAccountId}":            {auth.UpdateTokenRequest{}, serviceAccountJSON{}},
	"PUT /auth/service-accounts/{serviceAccountId}/activate":   {nil, serviceAccountJSON{}},
	"PUT /auth/service-accounts/{serviceAccountId}/deactivate": {nil, serviceAccountJSON{}},
	"DELETE /auth/service-accounts/{serviceAccountId}":         {nil, serviceAccountJSON{}},
	"GET /permissions":                                         {nil, list[permissionJSON]{}},
	"PUT /permissions/{permissionId}":                          {auth.PermissionRequest{}, permissionJSON{}},
	"PUT /permissions/{permissionId}/archive":                  {nil, permissionJSON{}},
	"POST /permissions/{permissionId}/assignments":             {nil, assignmentObjJSON{}},
	"GET /permissions/{permissionId}/assignments":              {nil, list[assignmentObjJSON]{}},
	"POST /auth/credentials":                                   {auth.CreateCredentialRequest{}, credentialJSON{}},
	"PUT /auth/credentials/activate":                           {nil, message{}},
	"PUT /auth/credentials/deactivate":                         {nil, message{}},
	"POST /auth/users":                                         {auth.CreateUserRequest{}, userJSON{}},
	"GET /auth/users/{userId}":                                 {nil, userJSON{}},
	"PUT /auth/users/{userId}/activate":                        {nil, userJSON{}},
	"PUT /auth/users/{userId}/deactivate":                      {nil, userJSON{}},
	"DELETE /auth/users/{userId}":                              {nil, userJSON{}},
	"POST /auth/pats":                                          {auth.CreateTokenRequest{}, tokenJSON{}},
	"GET /auth/pats/{tokenId}":                                 {nil, tokenJSON{}},
	"POST /permissions":                                        {auth.PermissionRequest{}, permissionJSON{}},
	"GET /permissions/{permissionId}":                          {nil, permissionJSON{}},
	"GET /auth/credentials": {nil, struct {
		Items []credentialJSON `json:"items"`
	}{}},
	"GET /.well-known/jwks.json": {nil, struct {
		Keys []map[string]string `json:"keys"`
	}{}},
	// The audit log's CSV, as a JSON string (spec 5.8).
	"GET /auth/action/logs": {nil, ""},
	"GET /healthz": {nil, struct {
		Status string `json:"status"`
	}{}},
}

// noContent are the routes that answer 204 with no body on success.
var noContent = map[string]bool{
	"DELETE /permissions/{permissionId}/assignments/{assignmentId}": true,
}

// message is the {"message":"success"} answer.
type message struct {
	Message string `json:"message"`
}

var pathParam = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// openAPI builds the OpenAPI 3.1 document of the route table, plus extra
// (the gateway's routes), once at start-up.
func (s *Server) openAPI(extra []DocRoute) ([]byte, error) {
	doc := &openapi3.T{
		OpenAPI: "3.1.0",
		Info: &openapi3.Info{
			Title:   "signet",
			Version: "1",
			Description: "Dfns-compatible API authentication. Generated from signet's route table: " +
				"x-signet-operation is the permission a route needs, x-signet-signed says it needs a user action " +
				"(X-DFNS-USERACTION, from POST /auth/action/init and POST /auth/action, or an RFC 9421 signature: docs/httpsig.md).",
		},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"bearer": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme()},
			},
		},
	}
	errSchema := openapi3.NewObjectSchema().WithProperty("error", openapi3.NewObjectSchema().
		WithProperty("status", openapi3.NewIntegerSchema()).
		WithProperty("code", openapi3.NewStringSchema()).
		WithProperty("message", openapi3.NewStringSchema()).
		WithRequired([]string{"status", "code", "message"}))
	errSchema.Required = []string{"error"}
	doc.Components.Schemas["Error"] = openapi3.NewSchemaRef("", errSchema)

	gen := openapi3gen.NewGenerator()
	schemaOf := func(v any) (*openapi3.SchemaRef, error) {
		if v == nil {
			return openapi3.NewSchemaRef("", openapi3.NewObjectSchema()), nil
		}
		return gen.NewSchemaRefForValue(v, nil)
	}

	add := func(method, pattern, opID string, public, signed bool, op string, body struct{ req, resp any }) error {
		o := openapi3.NewOperation()
		o.OperationID = opID
		o.Responses = openapi3.NewResponses()
		path := pathParam.ReplaceAllString(pattern, "{$1}")
		for _, m := range pathParam.FindAllStringSubmatch(pattern, -1) {
			p := openapi3.NewPathParameter(m[1]).WithSchema(openapi3.NewStringSchema())
			if m[2] != "" {
				p.Description = "the rest of the path, slashes included"
			}
			o.AddParameter(p)
		}
		if !public {
			o.Security = &openapi3.SecurityRequirements{{"bearer": []string{}}}
			if op != "" && op != noOperation {
				o.Extensions = map[string]any{"x-signet-operation": op}
			}
		}
		if signed {
			// One of the two is required (docs/httpsig.md); OpenAPI cannot
			// say "one of these headers", so neither is marked required.
			o.AddParameter(openapi3.NewHeaderParameter("X-DFNS-USERACTION").
				WithSchema(openapi3.NewStringSchema()).WithDescription("user action token bound to this method, path and body; or sign the request with RFC 9421 (Signature-Input, Signature)"))
			o.AddParameter(openapi3.NewHeaderParameter("Signature-Input").
				WithSchema(openapi3.NewStringSchema()).WithDescription("RFC 9421 signature parameters, in place of X-DFNS-USERACTION (docs/httpsig.md)"))
			o.AddParameter(openapi3.NewHeaderParameter("Signature").
				WithSchema(openapi3.NewStringSchema()).WithDescription("RFC 9421 signature, in place of X-DFNS-USERACTION"))
			o.AddParameter(openapi3.NewHeaderParameter("Content-Digest").
				WithSchema(openapi3.NewStringSchema()).WithDescription("RFC 9530 digest of the body, covered by an RFC 9421 signature"))
			o.AddParameter(openapi3.NewHeaderParameter("WebAuthn-Authenticator-Data").
				WithSchema(openapi3.NewStringSchema()).WithDescription("a passkey's RFC 9421 signature: the assertion's authenticator data, an RFC 8941 byte sequence (docs/httpsig.md)"))
			o.AddParameter(openapi3.NewHeaderParameter("WebAuthn-Client-Data").
				WithSchema(openapi3.NewStringSchema()).WithDescription("a passkey's RFC 9421 signature: the assertion's client data JSON, an RFC 8941 byte sequence"))
			if o.Extensions == nil {
				o.Extensions = map[string]any{}
			}
			o.Extensions["x-signet-signed"] = true
		}
		if method != http.MethodGet && method != http.MethodHead && method != http.MethodDelete {
			req, err := schemaOf(body.req)
			if err != nil {
				return fmt.Errorf("%s %s request: %w", method, pattern, err)
			}
			o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().
				WithJSONSchemaRef(req).WithRequired(false)}
		}
		resp, err := schemaOf(body.resp)
		if err != nil {
			return fmt.Errorf("%s %s response: %w", method, pattern, err)
		}
		if noContent[method+" "+pattern] {
			o.AddResponse(http.StatusNoContent, openapi3.NewResponse().WithDescription("success, no body"))
		} else {
			o.AddResponse(http.StatusOK, openapi3.NewResponse().WithDescription("success").WithJSONSchemaRef(resp))
		}
		errRef := &openapi3.SchemaRef{Ref: "#/components/schemas/Error"}
		codes := []int{http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusTooManyRequests,
			http.StatusInternalServerError}
		if !public {
			codes = append(codes, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict)
		} else {
			codes = append(codes, http.StatusUnauthorized, http.StatusConflict)
		}
		slices.Sort(codes)
		for _, c := range codes {
			o.AddResponse(c, openapi3.NewResponse().WithDescription(http.StatusText(c)).WithJSONSchemaRef(errRef))
		}
		doc.AddOperation(path, method, o)
		return nil
	}

	for _, rt := range s.routes() {
		key := rt.method + " " + rt.pattern
		if err := add(rt.method, rt.pattern, handlerName(rt.h), rt.access == public, rt.signed(), rt.op, bodies[key]); err != nil {
			return nil, err
		}
	}
	for i, rt := range extra {
		opID := "upstream" + strconv.Itoa(i)
		if err := add(rt.Method, rt.Path, opID, rt.Public, rt.Signed && !rt.Public, rt.Operation, struct{ req, resp any }{}); err != nil {
			return nil, err
		}
	}
	return json.Marshal(doc)
}

// handlerName is a route handler's method name (createUser), its
// operationId.
func handlerName(h handler) string {
	name := runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name() // ...httpapi.(*Server).createUser-fm
	name = name[strings.LastIndexByte(name, '.')+1:]
	return strings.TrimSuffix(name, "-fm")
}

func (s *Server) openAPIHandler(w http.ResponseWriter, r *http.Request, _ *call) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.openapi)
	return nil
}
