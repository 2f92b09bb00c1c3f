package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"

	"github.com/signet-auth/signet/client"
)

// A user registers a key with the registration code from `signet bootstrap`
// (or from an invitation), logs in with it, and then reads and writes
// through a Client that carries the login token and signs with the key.
func ExampleClient_Login() {
	ctx := context.Background()
	orgID, username, code := newOrg() // what `signet bootstrap` prints

	priv, err := client.GenerateKey(client.ES256)
	if err != nil {
		log.Fatal(err)
	}
	credID, _ := client.KeyID(priv.Public())
	key, err := client.NewKeySigner(credID, priv)
	if err != nil {
		log.Fatal(err)
	}

	c, err := client.New(signetURL)
	if err != nil {
		log.Fatal(err)
	}
	reg, err := c.Register(ctx, client.RegistrationInitRequest{OrgID: orgID, Username: username, RegistrationCode: code}, key)
	if err != nil {
		log.Fatal(err)
	}
	login, err := c.Login(ctx, client.LoginInitRequest{OrgID: orgID, Username: username}, key)
	if err != nil {
		log.Fatal(err)
	}
	c = c.With(client.WithToken(login.Token), client.WithSigner(key))

	me, err := c.GetUser(ctx, reg.User.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.Username, me.IsActive, me.IsRegistered)
	// Output: admin@example.com true true
}

// Adding a credential is a signed call: the Client's Signer (the key the
// user logged in with) approves the new key.
func ExampleClient_AddCredential() {
	ctx := context.Background()
	s := exampleSession()

	priv, _ := client.GenerateKey(client.EdDSA)
	credID, _ := client.KeyID(priv.Public())
	laptop, _ := client.NewKeySigner(credID, priv)
	cred, err := s.AddCredential(ctx, client.KindKey, "laptop", laptop)
	if err != nil {
		log.Fatal(err)
	}
	list, err := s.ListCredentials(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cred.Name, cred.Kind, cred.IsActive, len(list.Items))
	// Output: laptop Key true 2
}

// Errors from the server are *client.Error values with the HTTP status,
// signet's code and the message.
func ExampleError() {
	ctx := context.Background()
	s := exampleSession()

	_, err := s.GetUser(ctx, "us-aaaaa-bbbbb-cccccccccccccccc")
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code)
	}
	// Output: 404 not_found
}

// Do calls any path: a signet endpoint the SDK has no method for, or an API
// signet guards as a gateway. Non-GET calls are signed like every other.
func ExampleClient_Do() {
	ctx := context.Background()
	s := exampleSession()

	var creds struct {
		Items []struct {
			Kind string `json:"kind"`
		} `json:"items"`
	}
	if err := s.Do(ctx, "GET", "/auth/credentials", nil, &creds); err != nil {
		log.Fatal(err)
	}
	var raw json.RawMessage
	err := s.Do(ctx, "PUT", "/auth/credentials/deactivate", map[string]string{"credentialUuid": "cr-aaaaa-bbbbb-cccccccccccccccc"}, &raw)
	var e *client.Error
	errors.As(err, &e)
	fmt.Println(len(creds.Items), creds.Items[0].Kind, e.Status)
	// Output: 1 Key 404
}

// A personal access token acts on its own: requests carry its token and
// are signed by its key, registered under the credential id signet assigned.
func ExampleClient_CreatePAT() {
	ctx := context.Background()
	s := exampleSession()

	ciKey, _ := client.GenerateKey(client.EdDSA) // kept by the CI job
	pub, _ := client.EncodePublicKeyPEM(ciKey.Public())
	pat, err := s.CreatePAT(ctx, client.CreatePATRequest{Name: "ci", PublicKey: pub, DaysValid: 30})
	if err != nil {
		log.Fatal(err)
	}

	// In the CI job:
	signer, _ := client.NewKeySigner(pat.CredID, ciKey)
	ci, _ := client.New(signetURL, client.WithToken(pat.AccessToken), client.WithSigner(signer))
	perm, err := ci.CreatePermission(ctx, client.CreatePermissionRequest{Name: "readers", Operations: []string{"Auth:Users:Read"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pat.Kind, perm.Name, perm.Operations)
	// Output: Pat readers [Auth:Users:Read]
}

// A PEM key file round trip, as `signet keygen` writes and `signet login`
// reads it.
func ExampleParsePrivateKeyPEM() {
	priv, _ := client.GenerateKey(client.ES256K)
	pemBytes, _ := client.EncodePrivateKeyPEM(priv) // write with mode 0600
	back, err := client.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		log.Fatal(err)
	}
	a, _ := client.KeyID(priv.Public())
	b, _ := client.KeyID(back.Public())
	fmt.Println(a == b)
	// Output: true
}

// exampleSession registers and logs in a user and returns their Client.
func exampleSession() *client.Client {
	ctx := context.Background()
	orgID, username, code := newOrg()
	priv, _ := client.GenerateKey(client.ES256)
	credID, _ := client.KeyID(priv.Public())
	key, _ := client.NewKeySigner(credID, priv)
	c, err := client.New(signetURL)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Register(ctx, client.RegistrationInitRequest{OrgID: orgID, Username: username, RegistrationCode: code}, key); err != nil {
		log.Fatal(err)
	}
	login, err := c.Login(ctx, client.LoginInitRequest{OrgID: orgID, Username: username}, key)
	if err != nil {
		log.Fatal(err)
	}
	return c.With(client.WithToken(login.Token), client.WithSigner(key))
}
