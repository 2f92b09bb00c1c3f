package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// validator is a request body that checks itself once decoded.
type validator interface {
	validate() error
}

// answer is the shape of most handlers: decode the body strictly into a
// Req (and validate it, if it can), do the work with it, and answer 200
// with what the work returns.
func answer[Req, Resp any](w http.ResponseWriter, c *call, do func(*Req) (Resp, error)) error {
	var req Req
	if err := decode(c, &req); err != nil {
		return err
	}
	if v, ok := any(&req).(validator); ok {
		if err := v.validate(); err != nil {
			return err
		}
	}
	out, err := do(&req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// success is the answer of work that returns nothing: {"message":"success"}.
func success(err error) (map[string]string, error) {
	if err != nil {
		return nil, err
	}
	return map[string]string{"message": "success"}, nil
}

// tempToken is the bearer token of a public route that needs one (the
// temporary token of a registration or a recovery).
func tempToken(r *http.Request) (string, error) {
	tok, ok := bearerToken(r)
	if !ok {
		return "", auth.Errorf(auth.Unauthenticated, "Not Authorized.")
	}
	return tok, nil
}
