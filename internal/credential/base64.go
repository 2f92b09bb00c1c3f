package credential

import (
	"encoding/base64"
	"strings"
)

// DecodeBase64URL decodes a binary value of the auth API.
//
// Spec 1.5: clients disagree on padding and alphabet (browser, TS and Go send
// unpadded base64url; Dfns' Python scripts send padded base64url; a docs
// example uses the standard alphabet), so any trailing '=' padding is
// dropped and '+' and '/' are read as '-' and '_'. Anything else outside the
// alphabet, line breaks included, is an error. The empty string decodes
// to an empty slice. Errors are Malformed.
func DecodeBase64URL(s string) ([]byte, error) {
	// encoding/base64 silently skips CR and LF; a binary value of the API
	// never contains them, so they are an error here.
	if strings.ContainsAny(s, "\r\n") {
		return nil, malformed("invalid base64url value", nil)
	}
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, malformed("invalid base64url value", err)
	}
	return b, nil
}

// EncodeBase64URL encodes b as unpadded base64url, the form signet always
// sends (spec 1.5, 3.2).
func EncodeBase64URL(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}
