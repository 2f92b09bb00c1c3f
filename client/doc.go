// Package client is the Go SDK of signet, a self-hosted server that speaks
// the Dfns API authentication wire contract. It works against signet and, for
// the endpoints both serve, against any server following that contract.
//
// Every method takes a context first and talks JSON over HTTP. Calls that
// change state (every non-GET request except the few the contract leaves
// unsigned: login, registration, recovery, the user-action calls themselves,
// logout, credential challenges) go through user action signing exactly as
// the official TypeScript SDK's userActionFetch does (spec 4.1): the body is
// serialised once, POST /auth/action/init binds a challenge to that body,
// method and path, the Client's Signer signs the challenge, POST /auth/action
// turns the signature into a single-use user-action token, and the request is
// sent with that token in X-DFNS-USERACTION.
//
// Signing is behind the Signer interface (and CredentialCreator for new
// credentials), so a key held in memory (KeySigner), a KMS or a relay to a
// passkey in a browser can all sign. Errors returned by the server are
// *Error values carrying the HTTP status, the machine code and the message.
//
// A user logs in with a key and then calls the API:
//
//	priv, _ := client.ParsePrivateKeyPEM(pemBytes)
//	credID, _ := client.KeyID(priv.Public()) // or the id the key was registered under
//	key, _ := client.NewKeySigner(credID, priv)
//	c, _ := client.New("https://signet.example.com")
//	login, err := c.Login(ctx, client.LoginInitRequest{OrgID: orgID, Username: "ann@example.com"}, key)
//	...
//	c = c.With(client.WithToken(login.Token), client.WithSigner(key))
//	pat, err := c.CreatePAT(ctx, client.CreatePATRequest{Name: "ci", PublicKey: ciPublicKeyPEM})
//
// A personal access token or a service account works the same way with its
// long-lived token and its own key, registered under the credential id the
// server returned (AccessToken.CredID):
//
//	signer, _ := client.NewKeySigner(pat.CredID, ciPrivateKey)
//	ci, _ := client.New(url, client.WithToken(pat.AccessToken), client.WithSigner(signer))
//
// The signed path of a call is its escaped path, plus its query when it has
// one (the binding of the Dfns Go SDK and signet's spec 12.1); the
// TypeScript SDK signs the path alone, which signet equally accepts.
package client
