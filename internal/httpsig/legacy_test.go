package httpsig

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/dunglas/httpsfv"
)

// The implementations of Parse's parameters, Base, DigestAuthorization and
// IsDigestMarker before they were rewritten to allocate less (cpucut,
// docs/performance.md), kept as the reference the rewritten ones must
// agree with byte for byte.

func legacyParams(label string, il httpsfv.InnerList) (string, error) {
	d := httpsfv.NewDictionary()
	d.Add(label, il)
	ser, err := httpsfv.Marshal(d)
	return strings.TrimPrefix(ser, label+"="), err
}

func legacyBase(m *Message, s *Signature) ([]byte, error) {
	var b strings.Builder
	for _, c := range s.Components {
		v, err := legacyComponent(m, c)
		if err != nil {
			return nil, err
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, errorf("component %q holds a line break", c)
		}
		b.WriteString(strconv.Quote(c))
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(s.Params)
	return []byte(b.String()), nil
}

func legacyComponent(m *Message, name string) (string, error) {
	if !strings.HasPrefix(name, "@") {
		lines := m.Header.Values(name)
		if len(lines) == 0 {
			return "", errorf("covered header field %q is missing", name)
		}
		vs := make([]string, len(lines))
		for i, l := range lines {
			vs[i] = strings.Trim(l, " \t")
		}
		return strings.Join(vs, ", "), nil
	}
	return component(m, name)
}

func legacyIsDigestMarker(v string) bool {
	d, ok := strings.CutPrefix(v, digestMarker)
	if !ok || !strings.HasSuffix(d, ":") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(d, ":"))
	return err == nil && len(raw) == sha256.Size
}

func legacyDigestAuthorization(base []byte) ([]byte, bool) {
	lines := bytes.Split(base, []byte("\n"))
	found := false
	for i, l := range lines {
		if v, ok := bytes.CutPrefix(l, []byte(authLinePrefix)); ok && !legacyIsDigestMarker(string(v)) {
			h := sha256.Sum256(v)
			lines[i] = []byte(authLinePrefix + digestMarker + base64.StdEncoding.EncodeToString(h[:]) + ":")
			found = true
		}
	}
	return bytes.Join(lines, []byte("\n")), found
}

// sameAsLegacy checks Parse, Base and DigestAuthorization of one message
// against the reference.
func sameAsLegacy(t *testing.T, m *Message) {
	t.Helper()
	s, err := Parse(m.Header)
	if err != nil {
		return
	}
	in, _, _ := dictionary(m.Header, "Signature-Input")
	v, _ := in.Get(s.Label)
	want, err := legacyParams(s.Label, v.(httpsfv.InnerList))
	if err != nil || s.Params != want {
		t.Fatalf("Params = %q, legacy %q (%v)", s.Params, want, err)
	}
	base, err := Base(m, s)
	lbase, lerr := legacyBase(m, s)
	if (err == nil) != (lerr == nil) || !bytes.Equal(base, lbase) {
		t.Fatalf("Base = %q, %v; legacy %q, %v", base, err, lbase, lerr)
	}
	if err != nil {
		return
	}
	got, ok := DigestAuthorization(base)
	lgot, lok := legacyDigestAuthorization(base)
	if ok != lok || !bytes.Equal(got, lgot) {
		t.Fatalf("DigestAuthorization = %q, %v; legacy %q, %v", got, ok, lgot, lok)
	}
	again, ok := DigestAuthorization(got)
	lagain, lok := legacyDigestAuthorization(lgot)
	if ok != lok || !bytes.Equal(again, lagain) {
		t.Fatalf("DigestAuthorization of a digested base = %q, %v; legacy %q, %v", again, ok, lagain, lok)
	}
}

func legacyMessage(input, sig string, fields map[string][]string) *Message {
	u, _ := url.Parse("https://example.com/foo?param=Value&Pet=dog")
	h := http.Header{"Signature-Input": {input}, "Signature": {sig}}
	for k, v := range fields {
		h[k] = v
	}
	return &Message{Method: "POST", URL: u, Header: h}
}

func TestSameAsLegacy(t *testing.T) {
	marker := AuthorizationDigest("Bearer x")
	const sig = "sig1=:AAAA:"
	for _, tc := range []struct {
		name   string
		input  string
		fields map[string][]string
	}{
		{"appendix B.2.6", b26Input, nil},
		{"client signer", `sig1=("@method" "@target-uri" "authorization" "content-digest");created=1764800000;nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";keyid="k";alg="ecdsa-p256-sha256"`,
			map[string][]string{"Authorization": {"Bearer tok"}, "Content-Digest": {"sha-256=:AAAA:"}}},
		{"field of two lines, trimmed", `sig1=("x-a");created=1`, map[string][]string{"X-A": {" one ", "\ttwo\t"}}},
		{"empty field", `sig1=("x-a");created=1`, map[string][]string{"X-A": {""}}},
		{"missing field", `sig1=("x-a");created=1`, nil},
		{"line break", `sig1=("x-a");created=1`, map[string][]string{"X-A": {"a\nb"}}},
		{"quote and backslash in a name", `sig1=("a\"b" "c\\d");created=1`, map[string][]string{`a"b`: {"1"}, `c\d`: {"2"}}}, // not canonical keys: Values finds them as spelled
		{"authorization already a marker", `sig1=("authorization");created=1`, map[string][]string{"Authorization": {marker}}},
		{"marker-like authorization", `sig1=("authorization");created=1`, map[string][]string{"Authorization": {"sha-256=:AAAA:"}}},
		{"long marker-like authorization", `sig1=("authorization");created=1`, map[string][]string{"Authorization": {"sha-256=:" + strings.Repeat("A", 64) + ":"}}},
		{"marker-like authorization of 33 bytes", `sig1=("authorization");created=1`, map[string][]string{"Authorization": {"sha-256=:" + strings.Repeat("A", 44) + ":"}}},
		{"marker-like authorization of 31 bytes", `sig1=("authorization");created=1`, map[string][]string{"Authorization": {"sha-256=:" + strings.Repeat("A", 40) + "AAA=:"}}},
		{"marker without the colon", `sig1=("authorization");created=1`, map[string][]string{"Authorization": {strings.TrimSuffix(marker, ":")}}},
		{"empty authorization", `sig1=("authorization");created=1`, map[string][]string{"Authorization": {""}}},
		{"derived components", `sig1=("@method" "@authority" "@scheme" "@request-target" "@path" "@query");created=1`, nil},
		{"no components", `sig1=();created=1`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sameAsLegacy(t, legacyMessage(tc.input, sig, tc.fields))
		})
	}
}

// FuzzSameAsLegacy: for any Signature-Input and covered field values, the
// rewritten Parse, Base and DigestAuthorization give the reference's bytes.
func FuzzSameAsLegacy(f *testing.F) {
	f.Add(b26Input, "Bearer x", "v")
	f.Add(`sig1=("authorization" "x-a");created=1`, AuthorizationDigest("y"), " a ")
	f.Add(`sig1=("authorization" "x-a");created=1`, "sha-256=:AAAA:", "a\tb")
	f.Fuzz(func(t *testing.T, input, authz, xa string) {
		sameAsLegacy(t, legacyMessage(input, "sig1=:AAAA:", map[string][]string{"Authorization": {authz}, "X-A": {xa, xa}}))
		if IsDigestMarker(authz) != legacyIsDigestMarker(authz) {
			t.Fatalf("IsDigestMarker(%q) differs from the reference", authz)
		}
	})
}
