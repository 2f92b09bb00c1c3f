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
	"github.com/signet-auth/signet/internal/health"
)

// DocRoute is a route of another surface served beside the API (the
// gateway's route file), described in GET /openapi.json.
type DocRoute struct {
	Method, Path string
	Operation    string // "" when Public
	Public       bool   // no bearer token
	Signed       bool   // needs X-DFNS-USERACTION
}

// bodies are the Go types of the JSON bodies of every route: the request
// the handler decodes (nil: none) and the response it answers (nil with
// noContent: none), keyed "METHOD pattern", one line per route. The
// document derives their schemas by reflection (kin-openapi's
// openapi3gen): requests open to unknown fields, as the decoder is;
// responses exact (openapi_schema.go). A route of the table missing here
// fails TestOpenAPIDeclaresEveryRoute, and one without a validated
// example fails the httpapi tests (internal/openapitest).
var bodies = map[string]struct{ req, resp any }{
	"POST /auth/registration/init":                             {registrationInitRequest{}, auth.RegistrationChallenge{}},
	"POST /auth/registration":                                  {auth.RegisterRequest{}, registeredJSON{}},
	"POST /auth/login/init":                                    {loginInitRequest{}, auth.SignChallenge{}},
	"POST /auth/registration/social":                           {auth.SocialRequest{}, auth.RegistrationChallenge{}},
	"POST /auth/login/social":                                  {auth.SocialRequest{}, tokenAnswer{}},
	"POST /auth/login/sso/init":                                {ssoLoginInitRequest{}, ssoLoginInitAnswer{}},
	"POST /auth/login/sso":                                     {auth.SSOLoginRequest{}, tokenAnswer{}},
	"GET /auth/login/sso/providers":                            {nil, ssoProvidersAnswer{}},
	"POST /auth/login/code":                                    {sendLoginCodeRequest{}, message{}},
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
	"POST /v2/policies":                                        {auth.PolicyRequest{}, policyJSON{}},
	"GET /v2/policies":                                         {nil, list[policyJSON]{}},
	"GET /v2/policies/{policyId}":                              {nil, policyJSON{}},
	"PUT /v2/policies/{policyId}":                              {auth.PolicyRequest{}, policyJSON{}},
	"DELETE /v2/policies/{policyId}":                           {nil, policyJSON{}},
	"GET /v2/policy-approvals":                                 {nil, list[approvalJSON]{}},
	"GET /v2/policy-approvals/{approvalId}":                    {nil, approvalJSON{}},
	"POST /v2/policy-approvals/{approvalId}/decisions":         {auth.DecisionRequest{}, approvalJSON{}},
	"GET /auth/credentials":                                    {nil, list[credentialJSON]{}},
	"GET /.well-known/jwks.json":                               {nil, jwksJSON{}},
	// The audit log's CSV, as a JSON string (spec 5.8).
	"GET /auth/action/logs":              {nil, ""},
	"GET /healthz":                       {nil, healthJSON{}},
	"GET /readyz":                        {nil, health.Report{}},
	"GET /openapi.json":                  {nil, openAPIJSON{}},
	"POST /auth/login":                   {signedRequest{}, tokenAnswer{}},
	"POST /auth/login/delegated":         {delegatedLoginRequest{}, tokenAnswer{}},
	"POST /auth/registration/delegated":  {auth.DelegatedRegistrationRequest{}, auth.RegistrationChallenge{}},
	"POST /auth/recover/user/delegated":  {auth.DelegatedRecoveryRequest{}, auth.RecoveryChallenge{}},
	"POST /auth/registration/enduser":    {auth.RegisterEndUserRequest{}, registeredEndUserJSON{}},
	"POST /auth/action":                  {signedRequest{}, userActionAnswer{}},
	"POST /auth/action/verify":           {verifyActionRequest{}, verifyActionAnswer{}},
	"GET /auth/action/logs/{id}":         {nil, auditLog{}},
	"GET /auth/action/{id}":              {nil, actionOutcomeJSON{}},
	"PUT /auth/registration/code":        {registrationCodeRequest{}, message{}},
	"GET /auth/apps":                     {nil, list[auth.Application]{}},
	"GET /auth/apps/{appId}":             {nil, auth.Application{}},
	"POST /auth/credentials/init":        {credentialInitRequest{}, auth.CredentialChallenge{}},
	"POST /auth/credentials/code":        {auth.CredentialCodeRequest{}, credentialCodeAnswer{}},
	"POST /auth/credentials/code/init":   {credentialCodeInitRequest{}, auth.CredentialChallenge{}},
	"POST /auth/credentials/code/verify": {auth.CreateCredentialRequest{}, credentialJSON{}},
	"POST /auth/recover/user/code":       {sendRecoveryCodeRequest{}, message{}},
	"POST /auth/recover/user/init":       {auth.RecoveryInitRequest{}, auth.RecoveryChallenge{}},
	"POST /auth/recover/user":            {auth.RecoverRequest{}, registeredJSON{}},
	"DELETE /permissions/{permissionId}/assignments/{assignmentId}": {nil, nil},
}

// undeclaredBodies lists the routes of rts with no line in bodies: the
// document cannot describe them (TestOpenAPIDeclaresEveryRoute).
func undeclaredBodies(rts []route) []string {
	var miss []string
	for _, rt := range rts {
		if _, ok := bodies[rt.method+" "+rt.pattern]; !ok {
			miss = append(miss, rt.method+" "+rt.pattern)
		}
	}
	return miss
}

// noContent are the routes that answer 204 with no body on success.
var noContent = map[string]bool{
	"DELETE /permissions/{permissionId}/assignments/{assignmentId}": true,
}

// heldByPolicy are the routes a policy may hold for approval: 202 with the
// change request (docs/policies.md).
var heldByPolicy = map[string]bool{
	"POST /permissions/{permissionId}/assignments":                  true,
	"DELETE /permissions/{permissionId}/assignments/{assignmentId}": true,
	"PUT /permissions/{permissionId}":                               true,
	"PUT /permissions/{permissionId}/archive":                       true,
	"PUT /v2/policies/{policyId}":                                   true,
	"DELETE /v2/policies/{policyId}":                                true,
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

	reqGen, respGen := schemaGenerators()
	schemaOf := func(gen *openapi3gen.Generator, v any) (*openapi3.SchemaRef, error) {
		if v == nil {
			return openapi3.NewSchemaRef("", openapi3.NewObjectSchema()), nil
		}
		return gen.NewSchemaRefForValue(v, nil)
	}

	add := func(method, pattern, opID string, public, signed, held bool, op string, body struct{ req, resp any }) error {
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
			req, err := schemaOf(reqGen, body.req)
			if err != nil {
				return fmt.Errorf("%s %s request: %w", method, pattern, err)
			}
			o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().
				WithJSONSchemaRef(req).WithRequired(false)}
		}
		resp, err := schemaOf(respGen, body.resp)
		if err != nil {
			return fmt.Errorf("%s %s response: %w", method, pattern, err)
		}
		if noContent[method+" "+pattern] {
			o.AddResponse(http.StatusNoContent, openapi3.NewResponse().WithDescription("success, no body"))
		} else {
			o.AddResponse(http.StatusOK, openapi3.NewResponse().WithDescription("success").WithJSONSchemaRef(resp))
		}
		if held {
			held, err := schemaOf(respGen, changeRequestJSON{})
			if err != nil {
				return fmt.Errorf("%s %s held response: %w", method, pattern, err)
			}
			o.AddResponse(http.StatusAccepted, openapi3.NewResponse().
				WithDescription("held by a policy for approval: the change request (PolicyPendingError in the SDK)").WithJSONSchemaRef(held))
		}
		errRef := &openapi3.SchemaRef{Ref: "#/components/schemas/Error"}
		// Every route: public ones refuse too (a registration code with no
		// delivery configured is 403), and any may meet a dependency
		// outage (503 with Retry-After, docs/faults.md).
		codes := []int{http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict,
			http.StatusServiceUnavailable}
		slices.Sort(codes)
		for _, c := range codes {
			o.AddResponse(c, openapi3.NewResponse().WithDescription(http.StatusText(c)).WithJSONSchemaRef(errRef))
		}
		doc.AddOperation(path, method, o)
		return nil
	}

	for _, rt := range s.routes() {
		key := rt.method + " " + rt.pattern
		if err := add(rt.method, rt.pattern, handlerName(rt.h), rt.access == public, rt.signed(), heldByPolicy[key], rt.op, bodies[key]); err != nil {
			return nil, err
		}
	}
	for i, rt := range extra {
		opID := "upstream" + strconv.Itoa(i)
		signed := rt.Signed && !rt.Public
		// A gateway policy (docs/policies.md, gateway mode) may hold any
		// signed request of a declared operation: policies are made at
		// run time, so every such route may answer 202.
		held := signed && rt.Operation != ""
		if err := add(rt.Method, rt.Path, opID, rt.Public, signed, held, rt.Operation, struct{ req, resp any }{}); err != nil {
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
