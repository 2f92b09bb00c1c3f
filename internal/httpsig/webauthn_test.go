package httpsig

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

func TestWebAuthnFields(t *testing.T) {
	ad, cd := []byte{1, 2, 3, 4, 5}, []byte(`{"type":"webauthn.get"}`)
	sf := func(b []byte) string { return ":" + base64.StdEncoding.EncodeToString(b) + ":" }
	good := func() http.Header {
		h := http.Header{}
		h.Set(AuthenticatorDataField, sf(ad))
		h.Set(ClientDataField, sf(cd))
		return h
	}
	h := good()
	gotAD, gotCD, err := WebAuthnFields(h)
	if err != nil || !bytes.Equal(gotAD, ad) || !bytes.Equal(gotCD, cd) {
		t.Fatalf("good fields: %x %q %v", gotAD, gotCD, err)
	}
	if !WebAuthnPresent(h) || WebAuthnPresent(http.Header{}) {
		t.Fatal("WebAuthnPresent")
	}
	tests := []struct {
		name string
		edit func(h http.Header)
	}{
		{"no authenticator data", func(h http.Header) { h.Del(AuthenticatorDataField) }},
		{"no client data", func(h http.Header) { h.Del(ClientDataField) }},
		{"two lines", func(h http.Header) { h.Add(ClientDataField, sf(cd)) }},
		{"a string, not bytes", func(h http.Header) { h.Set(ClientDataField, `"{}"`) }},
		{"a token", func(h http.Header) { h.Set(ClientDataField, `abc`) }},
		{"with a parameter", func(h http.Header) { h.Set(ClientDataField, sf(cd)+";x=1") }},
		{"a list", func(h http.Header) { h.Set(ClientDataField, sf(cd)+", "+sf(cd)) }},
		{"empty", func(h http.Header) { h.Set(ClientDataField, "::") }},
		{"unpadded base64", func(h http.Header) { h.Set(AuthenticatorDataField, ":"+base64.RawStdEncoding.EncodeToString(ad)+":") }},
		{"base64url", func(h http.Header) {
			h.Set(ClientDataField, ":"+base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff})+":")
		}},
		{"surrounding space", func(h http.Header) { h.Set(ClientDataField, " "+sf(cd)) }},
		{"too long", func(h http.Header) { h.Set(ClientDataField, sf([]byte(strings.Repeat("x", maxWebAuthnField)))) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := good()
			tt.edit(h)
			if _, _, err := WebAuthnFields(h); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// FuzzWebAuthnFields: arbitrary field values never panic, and what is
// accepted is the canonical byte sequence of what it returns.
func FuzzWebAuthnFields(f *testing.F) {
	f.Add(":AQIDBAU=:", ":e30=:")
	f.Add(":AQIDBAU=:;a=1", "e30")
	f.Add("::", ": :")
	f.Fuzz(func(t *testing.T, ad, cd string) {
		h := http.Header{}
		h.Set(AuthenticatorDataField, ad)
		h.Set(ClientDataField, cd)
		a, c, err := WebAuthnFields(h)
		if err != nil {
			return
		}
		if ":"+base64.StdEncoding.EncodeToString(a)+":" != ad || ":"+base64.StdEncoding.EncodeToString(c)+":" != cd {
			t.Fatalf("accepted %q %q as %x %x", ad, cd, a, c)
		}
	})
}
