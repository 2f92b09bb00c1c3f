// Package httpsig verifies RFC 9421 HTTP Message Signatures: it parses the
// Signature-Input and Signature fields (RFC 8941/9651 structured fields,
// with github.com/dunglas/httpsfv), builds the signature base of RFC 9421
// section 2.5, verifies a signature with a public key under one of the
// algorithms of RFC 9421 section 3.3, and checks an RFC 9530
// Content-Digest against a body. It decides nothing about who may sign
// what: that is internal/auth's rule (docs/httpsig.md).
package httpsig

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dunglas/httpsfv"
)

// MaxFieldLen bounds Signature-Input and Signature (each, all lines
// together): a signature of signet's algorithms with its parameters fits in
// far less.
const MaxFieldLen = 8192

// maxComponents bounds the covered components of one signature.
const maxComponents = 32

// Error is a signature that cannot be parsed or does not verify. Msg is
// safe to show to the client.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "httpsig: " + e.Msg + ": " + e.Err.Error()
	}
	return "httpsig: " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(format string, args ...any) *Error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// Signature is one signature of a message: its label, covered components
// and parameters (RFC 9421 section 2.3), and its value.
type Signature struct {
	Label string
	// Components are the covered component identifiers, in order, as
	// names: "@method", "content-digest". Component parameters (;sf,
	// ;key, ;bs, ;req, ;name) are not accepted.
	Components []string
	// Created and Expires are UNIX seconds; HasCreated and HasExpires
	// tell whether they were given.
	Created, Expires       int64
	HasCreated, HasExpires bool
	Nonce, KeyID, Alg, Tag string
	// Params is the serialized signature parameters, the value of the
	// @signature-params line of the signature base (section 2.3).
	Params string
	// Value is the signature.
	Value []byte
}

// Present reports whether h carries any RFC 9421 signature field.
func Present(h http.Header) bool {
	return len(h.Values("Signature-Input")) > 0 || len(h.Values("Signature")) > 0
}

// Parse reads the one signature h carries. It is strict where RFC 9421
// leaves a verifier free to be, so that what was verified is what any other
// reader of the same fields would see:
//   - each field must be a Dictionary in its canonical serialization
//     (RFC 8941 section 4.1): a repeated label or parameter, which a
//     parser silently folds into the last one, cannot be canonical;
//   - exactly one signature, the same label in both fields;
//   - the covered components are strings without parameters, none
//     repeated (section 2.5 step 1.1), the known parameters of the right
//     type and none other.
func Parse(h http.Header) (*Signature, error) {
	in, input, err := dictionary(h, "Signature-Input")
	if err != nil {
		return nil, err
	}
	sg, _, err := dictionary(h, "Signature")
	if err != nil {
		return nil, err
	}
	if len(in.Names()) != 1 || len(sg.Names()) != 1 {
		return nil, errorf("exactly one signature is accepted: Signature-Input and Signature must each hold one label")
	}
	label := in.Names()[0]
	if sg.Names()[0] != label {
		return nil, errorf("Signature-Input and Signature must name the same label")
	}
	m, _ := in.Get(label)
	il, ok := m.(httpsfv.InnerList)
	if !ok {
		return nil, errorf("Signature-Input %s must be an inner list of components", label)
	}
	v, _ := sg.Get(label)
	it, ok := v.(httpsfv.Item)
	if !ok {
		return nil, errorf("Signature %s must be a byte sequence", label)
	}
	val, ok := it.Value.([]byte)
	if !ok || len(it.Params.Names()) != 0 {
		return nil, errorf("Signature %s must be a byte sequence", label)
	}
	s := &Signature{Label: label, Value: val}
	if len(il.Items) > maxComponents {
		return nil, errorf("at most %d covered components", maxComponents)
	}
	for _, c := range il.Items {
		name, ok := c.Value.(string)
		if !ok || name == "" {
			return nil, errorf("covered components must be strings")
		}
		if len(c.Params.Names()) != 0 {
			return nil, errorf("component parameters are not supported (%q)", name)
		}
		if name != strings.ToLower(name) {
			return nil, errorf("component names must be lower case (%q)", name)
		}
		if slices.Contains(s.Components, name) {
			return nil, errorf("component %q is covered twice", name)
		}
		s.Components = append(s.Components, name)
	}
	for _, k := range il.Params.Names() {
		p, _ := il.Params.Get(k)
		var ok bool
		switch k {
		case "created":
			s.Created, ok = p.(int64)
			s.HasCreated = true
		case "expires":
			s.Expires, ok = p.(int64)
			s.HasExpires = true
		case "nonce":
			s.Nonce, ok = p.(string)
		case "keyid":
			s.KeyID, ok = p.(string)
		case "alg":
			s.Alg, ok = p.(string)
		case "tag":
			s.Tag, ok = p.(string)
		default:
			return nil, errorf("unknown signature parameter %q", k)
		}
		if !ok {
			return nil, errorf("signature parameter %q has the wrong type", k)
		}
	}
	// The field is the canonical serialization of a Dictionary of one
	// member (dictionary checked it), label=(components);params: the
	// serialized parameters are the field after "label=", with no second
	// serialization.
	s.Params = input[len(label)+1:]
	return s, nil
}

// dictionary parses the field name of h as one canonical Dictionary, and
// returns it with the field's value (its lines joined), which is its
// canonical serialization.
func dictionary(h http.Header, name string) (*httpsfv.Dictionary, string, error) {
	return dictionaryLines(name, h.Values(name))
}

func dictionaryLines(name string, lines []string) (*httpsfv.Dictionary, string, error) {
	if len(lines) == 0 {
		return nil, "", errorf("%s is missing", name)
	}
	joined := strings.Join(lines, ", ")
	if len(joined) > MaxFieldLen {
		return nil, "", errorf("%s is longer than %d bytes", name, MaxFieldLen)
	}
	d, err := httpsfv.UnmarshalDictionary([]string{joined})
	if err != nil {
		return nil, "", &Error{Msg: name + " is not a structured-field dictionary", Err: err}
	}
	canon, err := httpsfv.Marshal(d)
	if err != nil || canon != joined {
		return nil, "", errorf("%s must be in canonical structured-field form, each label and parameter once", name)
	}
	return d, joined, nil
}

// Message is what a signature base is built from: a request (Method and
// URL, absolute) or a response (Status), and its header fields.
type Message struct {
	Method string
	// URL is the absolute target URI (section 2.2.2): scheme, authority,
	// path and query as received.
	URL    *url.URL
	Status int // responses only
	Header http.Header
}

// Base builds the signature base of s over m (RFC 9421 section 2.5).
// Derived components: @method, @target-uri, @authority, @scheme,
// @request-target, @path, @query (requests); @status (responses). Header
// fields: every line of the field, trimmed, joined with ", " (section
// 2.1). A component the message lacks is an error (section 2.5 step 2.4).
func Base(m *Message, s *Signature) ([]byte, error) {
	// The values first, then one buffer of the base's exact length: the
	// base was built in a strings.Builder and copied to []byte, with a
	// strconv.Quote per component (docs/performance.md, "cpucut").
	if len(s.Components) > maxComponents { // Parse refuses more; a Signature made otherwise too
		return nil, errorf("at most %d covered components", maxComponents)
	}
	var vs [maxComponents]string
	n := len(`"@signature-params": `) + len(s.Params)
	for i, c := range s.Components {
		v, err := component(m, c)
		if err != nil {
			return nil, err
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, errorf("component %q holds a line break", c)
		}
		vs[i] = v
		n += len(c) + 2 + len(": ") + len(v) + 1
	}
	b := make([]byte, 0, n)
	for i, c := range s.Components {
		b = appendSFString(b, c)
		b = append(b, ": "...)
		b = append(b, vs[i]...)
		b = append(b, '\n')
	}
	b = append(b, `"@signature-params": `...)
	b = append(b, s.Params...)
	return b, nil
}

// appendSFString appends the component name c as an sf-string (RFC 8941
// section 3.3.3): in quotes, with '"' and '\\' escaped. Parse accepts
// only names it read as sf-strings, printable ASCII, for which this is
// what strconv.Quote gave; anything else is quoted by strconv.Quote as
// before.
func appendSFString(b []byte, c string) []byte {
	for i := 0; i < len(c); i++ {
		if c[i] < 0x20 || c[i] >= 0x7f || c[i] == '"' || c[i] == '\\' {
			return strconv.AppendQuote(b, c)
		}
	}
	b = append(b, '"')
	b = append(b, c...)
	return append(b, '"')
}

func component(m *Message, name string) (string, error) {
	if !strings.HasPrefix(name, "@") {
		lines := m.Header.Values(name)
		switch len(lines) {
		case 0:
			return "", errorf("covered header field %q is missing", name)
		case 1:
			return strings.Trim(lines[0], " \t"), nil
		}
		vs := make([]string, len(lines))
		for i, l := range lines {
			vs[i] = strings.Trim(l, " \t")
		}
		return strings.Join(vs, ", "), nil
	}
	if name == "@status" {
		if m.Status == 0 {
			return "", errorf("@status applies to responses only")
		}
		return strconv.Itoa(m.Status), nil
	}
	if m.URL == nil || m.Method == "" {
		return "", errorf("%s applies to requests only", name)
	}
	u := m.URL
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	switch name {
	case "@method":
		return m.Method, nil
	case "@target-uri":
		return TargetURI(u), nil
	case "@authority":
		return strings.ToLower(u.Host), nil
	case "@scheme":
		return strings.ToLower(u.Scheme), nil
	case "@request-target":
		if u.RawQuery != "" || u.ForceQuery {
			return path + "?" + u.RawQuery, nil
		}
		return path, nil
	case "@path":
		return path, nil
	case "@query":
		return "?" + u.RawQuery, nil
	}
	return "", errorf("derived component %q is not supported", name)
}

// TargetURI is the @target-uri of u: scheme://authority/path?query, with
// the path and query as received.
func TargetURI(u *url.URL) string {
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	t := strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + path
	if u.RawQuery != "" || u.ForceQuery {
		t += "?" + u.RawQuery
	}
	return t
}

// errNoSignature is returned by Verify for a signature that does not verify.
var errNoSignature = errors.New("signature does not verify")

// Request is the Message of a request as a server received it: the target
// URI is rebuilt from the connection (https when it came over TLS), the
// Host field and the request target as received (RFC 9421 section 2.2.2,
// RFC 9110 section 7.1).
func Request(r *http.Request) *Message {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery, ForceQuery: r.URL.ForceQuery}
	return &Message{Method: r.Method, URL: u, Header: r.Header}
}

// redactedValue replaces a covered authorization field's value in a
// signature base shown to anyone but its signer.
const redactedValue = "[redacted]"

// RedactBase returns base with the value of every covered authorization
// field replaced by "[redacted]". The base signs the bearer token itself
// (the `authorization` component), so a base shown to an auditor would
// hand out the token of whoever signed it (a PAT or service account
// token lives long): only the store and `signet audit export` keep it
// whole, for offline verification.
func RedactBase(base []byte) []byte {
	lines := bytes.Split(base, []byte("\n"))
	prefix := []byte(`"authorization": `)
	for i, l := range lines {
		if bytes.HasPrefix(l, prefix) {
			lines[i] = append(append([]byte{}, prefix...), redactedValue...)
		}
	}
	return bytes.Join(lines, []byte("\n"))
}

// The audit trail keeps a signature base with the value of its covered
// authorization field replaced by a digest marker (docs/httpsig.md, "What
// the audit log keeps"): the bearer token it carries may be a long-lived
// PAT or service-account token, and signet keeps no copy of those.
const (
	authLinePrefix = `"authorization": `
	// digestMarker starts the marker that stands for an authorization
	// value in a stored base: "sha-256=:" then the standard base64 of the
	// SHA-256 of the whole field value as it was in the base ("Bearer
	// <token>"), then ":" (the RFC 9530 form). No bearer token signet
	// accepts starts with "sha-256=:" (PATs and JWTs are base64url and
	// dots; ":" and "=" appear in neither), so a marker cannot be mistaken
	// for a value.
	digestMarker = "sha-256=:"
)

// AuthorizationDigest returns the marker that stands for the
// authorization field value v in a stored signature base.
func AuthorizationDigest(v string) string {
	return string(appendAuthorizationDigest(nil, []byte(v)))
}

func appendAuthorizationDigest(b, v []byte) []byte {
	h := sha256.Sum256(v)
	b = append(b, digestMarker...)
	b = base64.StdEncoding.AppendEncode(b, h[:])
	return append(b, ':')
}

// DigestAuthorization returns base with the value of every covered
// authorization field replaced by its AuthorizationDigest marker, and
// whether there was one. What the marker stands for cannot be learned from
// it (a bearer token is a random secret or a signed JWT, far beyond any
// guessing), but whoever holds the token can put it back
// (RestoreAuthorization) and check the signature again.
func DigestAuthorization(base []byte) ([]byte, bool) {
	// One pass into one buffer (a marker is 54 bytes, a bearer token
	// longer: the base's length is room enough for the usual one line).
	out := make([]byte, 0, len(base)+64)
	found := false
	for rest := base; ; {
		l, next, more := bytes.Cut(rest, []byte("\n"))
		if v, ok := bytes.CutPrefix(l, []byte(authLinePrefix)); ok && !isDigestMarker(v) {
			out = appendAuthorizationDigest(append(out, authLinePrefix...), v)
			found = true
		} else {
			out = append(out, l...)
		}
		if !more {
			return out, found
		}
		out = append(out, '\n')
		rest = next
	}
}

// IsDigestMarker reports whether v has the form of an AuthorizationDigest
// marker.
func IsDigestMarker(v string) bool {
	return isDigestMarker([]byte(v))
}

func isDigestMarker(v []byte) bool {
	d, ok := bytes.CutPrefix(v, []byte(digestMarker))
	if !ok || !bytes.HasSuffix(d, []byte(":")) {
		return false
	}
	var raw [sha256.Size + 3]byte
	if base64.StdEncoding.DecodedLen(len(d)-1) > len(raw) {
		return false
	}
	n, err := base64.StdEncoding.Decode(raw[:], d[:len(d)-1])
	return err == nil && n == sha256.Size
}

// DigestedAuthorization returns the markers of the authorization fields a
// stored base holds in place of their values (none for a base kept whole).
func DigestedAuthorization(base []byte) []string {
	var out []string
	for _, l := range bytes.Split(base, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte(authLinePrefix)); ok && IsDigestMarker(string(v)) {
			out = append(out, string(v))
		}
	}
	return out
}

// AuthorizationValues are the field values a bearer token may have had in
// a signature base: the token as given when it already names its scheme
// ("Bearer eyJ…"), else "Bearer " and the token, as every client sends it.
func AuthorizationValues(tok string) []string {
	tok = strings.TrimSpace(tok)
	if strings.Contains(tok, " ") {
		return []string{tok}
	}
	return []string{"Bearer " + tok, "bearer " + tok, tok}
}

// RestoreAuthorization puts the authorization field value back into a base
// stored by DigestAuthorization: there must be a marker and every marker
// must be the digest of one of values, else ok is false and the base is
// returned unchanged.
func RestoreAuthorization(base []byte, values []string) (restored []byte, ok bool) {
	lines := bytes.Split(base, []byte("\n"))
	out := make([][]byte, len(lines))
	n := 0
	for i, l := range lines {
		out[i] = l
		v, is := bytes.CutPrefix(l, []byte(authLinePrefix))
		if !is || !IsDigestMarker(string(v)) {
			continue
		}
		match := false
		for _, c := range values {
			if AuthorizationDigest(c) == string(v) {
				out[i], match = []byte(authLinePrefix+c), true
				break
			}
		}
		if !match {
			return base, false
		}
		n++
	}
	if n == 0 {
		return base, false
	}
	return bytes.Join(out, []byte("\n")), true
}
