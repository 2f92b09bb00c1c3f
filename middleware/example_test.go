package middleware_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/signet-auth/signet/middleware"
)

// A service beside signet accepts signet's tokens and reads the caller
// from the request context. With VerifyActions, its state-changing
// endpoints also need a user action signed for exactly that request,
// which signet confirms and consumes.
func ExampleVerifier_Handler() {
	v, err := middleware.New(middleware.Config{
		URL:           "https://signet.example.com",
		Issuer:        "https://signet.example.com", // signet's --issuer
		VerifyActions: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.PrincipalFrom(r.Context())
		fmt.Fprintf(w, `{"createdBy":%q,"action":%q}`, p.UserID, p.Action.ID)
	})
	log.Fatal(http.ListenAndServe(":8081", v.Handler(mux)))
}
