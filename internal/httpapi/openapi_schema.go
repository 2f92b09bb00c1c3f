package httpapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/signet-auth/signet/internal/auth"
)

// Request and response types that the handlers decode or answer and the
// document reflects (bodies in openapi.go). Requests keep unknown fields
// allowed, as strictjson.Decode ignores them (SDKs of other versions send
// fields signet does not read); responses are exact.

// tokenAnswer is the answer of a login: {"token": ...}.
type tokenAnswer struct {
	Token string `json:"token"`
}

// userActionAnswer is the answer of POST /auth/action.
type userActionAnswer struct {
	UserAction string `json:"userAction"`
	// ID (not in Dfns' answer, ignored by its SDKs) names the action for
	// GET /auth/action/{id}, its outcome (docs/faults.md).
	ID string `json:"id"`
}

// credentialCodeAnswer is the answer of POST /auth/credentials/code.
type credentialCodeAnswer struct {
	Code       string `json:"code"`
	Expiration string `json:"expiration"`
}

// verifyActionRequest is the body of POST /auth/action/verify.
type verifyActionRequest struct {
	UserAction string `json:"userAction"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Query      string `json:"query"`
	Payload    string `json:"payload"`
}

// verifyActionAnswer is the answer of POST /auth/action/verify.
type verifyActionAnswer struct {
	Action actionJSON `json:"action"`
}

// credentialInitRequest is the body of POST /auth/credentials/init.
type credentialInitRequest struct {
	Kind auth.CredentialKind `json:"kind"`
}

// credentialUUIDRequest is the body of PUT /auth/credentials/{activate,deactivate}.
type credentialUUIDRequest struct {
	CredentialUUID string `json:"credentialUuid"`
}

// updateUserRequest is the body of PUT /auth/users/{userId}.
type updateUserRequest struct {
	IsSSORequired *bool `json:"isSSORequired"`
}

// registrationCodeRequest is the body of PUT /auth/registration/code.
type registrationCodeRequest struct {
	OrgID    string `json:"orgId"`
	Username string `json:"username"`
}

// forceRequest is the optional body of a deactivation: {force}; there are
// no approval policies to bypass.
type forceRequest struct {
	Force bool `json:"force"`
}

// archivePermissionRequest is the body of PUT /permissions/{permissionId}/archive.
type archivePermissionRequest struct {
	IsArchived *bool `json:"isArchived"`
}

// createAssignmentRequest is the body of POST /permissions/{permissionId}/assignments.
type createAssignmentRequest struct {
	IdentityID string `json:"identityId"`
}

// healthJSON is the answer of GET /healthz.
type healthJSON struct {
	Status string `json:"status"`
}

// jwksJSON is the answer of GET /.well-known/jwks.json (RFC 7517 §5): the
// keys' members depend on their type, so each key is an open object.
type jwksJSON struct {
	Keys []map[string]any `json:"keys"`
}

// openAPIJSON is the answer of GET /openapi.json: a document, any object.
type openAPIJSON map[string]any

var (
	timeType      = reflect.TypeFor[time.Time]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
)

// exactObjects is an openapi3gen customizer for response schemas: a
// struct's object admits only its fields (additionalProperties false) and
// requires each one encoding/json always writes (no omitempty, no
// omitzero), so a field renamed, dropped or added in a handler without its
// declared type fails the examples' validation.
func exactObjects(name string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
	_ = nullable(name, t, tag, s)
	if t.Kind() != reflect.Struct || t == timeType || t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		return nil
	}
	no := false
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	if s.Properties == nil {
		s.Type = &openapi3.Types{"object"}
		s.Properties = openapi3.Schemas{}
	}
	s.Required = requiredFields(t, nil)
	return nil
}

// nullable rewrites openapi3gen's "nullable" (OpenAPI 3.0; a pointer
// field) as OpenAPI 3.1 says it: "null" among the schema's types.
func nullable(_ string, _ reflect.Type, _ reflect.StructTag, s *openapi3.Schema) error {
	if s.Nullable && s.Type != nil && !s.Type.Includes("null") {
		types := append(openapi3.Types{}, *s.Type...)
		types = append(types, "null")
		s.Type = &types
		s.Nullable = false
	}
	return nil
}

// requiredFields are the JSON names encoding/json always writes for t,
// embedded structs' fields included.
func requiredFields(t reflect.Type, names []string) []string {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && !hasTag {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				names = requiredFields(ft, names)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,") {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// schemaGenerators are the two reflectors of the document: requests open,
// responses exact.
func schemaGenerators() (req, resp *openapi3gen.Generator) {
	return openapi3gen.NewGenerator(openapi3gen.SchemaCustomizer(nullable)), openapi3gen.NewGenerator(openapi3gen.SchemaCustomizer(exactObjects))
}
