package client

import (
	"encoding/json"
	"time"
)

// CredentialKind is the kind of a credential (spec 3.1).
type CredentialKind string

// The credential kinds of the contract. signet accepts Key and Fido2 for
// signing; RecoveryKey for recovery only.
const (
	KindFido2                CredentialKind = "Fido2"
	KindKey                  CredentialKind = "Key"
	KindPasswordProtectedKey CredentialKind = "PasswordProtectedKey"
	KindRecoveryKey          CredentialKind = "RecoveryKey"
	KindPassword             CredentialKind = "Password" // deprecated upstream; signet refuses it
	KindTotp                 CredentialKind = "Totp"     // deprecated upstream; signet refuses it
)

// UserKind is the kind of a user (spec 5.5).
type UserKind string

// User kinds.
const (
	CustomerEmployee UserKind = "CustomerEmployee"
	EndUser          UserKind = "EndUser"
)

// TokenKind is the kind of an access token (spec 2.1, 5.6).
type TokenKind string

// Token kinds signet issues.
const (
	TokenLogin          TokenKind = "Token"
	TokenTemp           TokenKind = "Temp"
	TokenPAT            TokenKind = "Pat"
	TokenServiceAccount TokenKind = "ServiceAccount"
)

// ---- challenges and their answers (spec 4.3, 5.2, 5.4, 7) ----

// AllowCredential names one credential that may answer a challenge.
type AllowCredential struct {
	Type       string   `json:"type"`
	ID         string   `json:"id"`
	Transports []string `json:"transports,omitempty"`
	// EncryptedPrivateKey is set on passwordProtectedKey entries.
	EncryptedPrivateKey string `json:"encryptedPrivateKey,omitempty"`
}

// AllowCredentials lists, by kind, the credentials that may answer a
// challenge.
type AllowCredentials struct {
	Key                  []AllowCredential `json:"key"`
	WebAuthn             []AllowCredential `json:"webauthn"`
	PasswordProtectedKey []AllowCredential `json:"passwordProtectedKey,omitempty"`
}

// SupportedCredentialKind is one entry of a login or action challenge's
// supportedCredentialKinds.
type SupportedCredentialKind struct {
	Kind                 CredentialKind `json:"kind"`
	Factor               string         `json:"factor"` // first, second or either
	RequiresSecondFactor bool           `json:"requiresSecondFactor"`
}

// RelyingParty is the WebAuthn relying party.
type RelyingParty struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Challenge is a login or user-action challenge (spec 4.3): what a Signer
// signs.
type Challenge struct {
	Challenge                 string                    `json:"challenge"`
	ChallengeIdentifier       string                    `json:"challengeIdentifier"`
	SupportedCredentialKinds  []SupportedCredentialKind `json:"supportedCredentialKinds"`
	UserVerification          string                    `json:"userVerification"`
	Attestation               string                    `json:"attestation,omitempty"`
	AllowCredentials          AllowCredentials          `json:"allowCredentials"`
	ExternalAuthenticationURL string                    `json:"externalAuthenticationUrl"`
	RP                        *RelyingParty             `json:"rp,omitempty"`
}

// Assertion is a signed answer to a login, action or recovery challenge:
// firstFactor / secondFactor (spec 3.3, 7).
type Assertion struct {
	Kind                CredentialKind       `json:"kind"`
	CredentialAssertion *CredentialAssertion `json:"credentialAssertion"`
}

// CredentialAssertion holds an assertion's base64url fields.
type CredentialAssertion struct {
	CredID            string `json:"credId"`
	ClientData        string `json:"clientData"`
	Signature         string `json:"signature"`
	AuthenticatorData string `json:"authenticatorData,omitempty"` // Fido2
	UserHandle        string `json:"userHandle,omitempty"`        // Fido2
	Algorithm         string `json:"algorithm,omitempty"`
}

// ChallengeUser is the user block of registration and credential
// challenges; ID becomes the WebAuthn user handle.
type ChallengeUser struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// AuthenticatorSelection is passed to navigator.credentials.create.
type AuthenticatorSelection struct {
	AuthenticatorAttachment string `json:"authenticatorAttachment,omitempty"`
	ResidentKey             string `json:"residentKey"`
	RequireResidentKey      bool   `json:"requireResidentKey"`
	UserVerification        string `json:"userVerification"`
}

// PubKeyCredParam is one WebAuthn key algorithm the server accepts.
type PubKeyCredParam struct {
	Type string `json:"type"`
	Alg  int    `json:"alg"`
}

// RegistrationKinds is supportedCredentialKinds of a registration challenge.
type RegistrationKinds struct {
	FirstFactor  []CredentialKind `json:"firstFactor"`
	SecondFactor []CredentialKind `json:"secondFactor"`
}

// RegistrationChallenge answers /auth/registration/init and delegated
// registration (spec 5.2).
type RegistrationChallenge struct {
	User                         ChallengeUser           `json:"user"`
	TemporaryAuthenticationToken string                  `json:"temporaryAuthenticationToken"`
	Challenge                    string                  `json:"challenge"`
	RP                           *RelyingParty           `json:"rp,omitempty"`
	SupportedCredentialKinds     RegistrationKinds       `json:"supportedCredentialKinds"`
	AuthenticatorSelection       *AuthenticatorSelection `json:"authenticatorSelection,omitempty"`
	Attestation                  string                  `json:"attestation"`
	PubKeyCredParams             []PubKeyCredParam       `json:"pubKeyCredParams"`
	ExcludeCredentials           []AllowCredential       `json:"excludeCredentials"`
	OTPURL                       string                  `json:"otpUrl,omitempty"`
}

// Creation returns what a CredentialCreator needs from the challenge.
func (r *RegistrationChallenge) Creation() *CreationChallenge {
	return &CreationChallenge{
		Challenge: r.Challenge, User: r.User, RP: r.RP, AuthenticatorSelection: r.AuthenticatorSelection,
		Attestation: r.Attestation, PubKeyCredParams: r.PubKeyCredParams, ExcludeCredentials: r.ExcludeCredentials,
	}
}

// RecoveryCredential is a recovery credential offered by a recovery
// challenge.
type RecoveryCredential struct {
	ID                   string `json:"id"`
	EncryptedRecoveryKey string `json:"encryptedRecoveryKey,omitempty"`
}

// RecoveryChallenge answers /auth/recover/user/init and delegated recovery
// (spec 5.3): a registration challenge plus the recovery credentials that
// may sign it.
type RecoveryChallenge struct {
	RegistrationChallenge
	AllowedRecoveryCredentials []RecoveryCredential `json:"allowedRecoveryCredentials"`
}

// CredentialChallenge answers /auth/credentials/init and
// /auth/credentials/code/init (spec 5.4).
type CredentialChallenge struct {
	Kind                   CredentialKind          `json:"kind"`
	User                   ChallengeUser           `json:"user"`
	ChallengeIdentifier    string                  `json:"challengeIdentifier"`
	Challenge              string                  `json:"challenge"`
	RP                     *RelyingParty           `json:"rp,omitempty"`
	AuthenticatorSelection *AuthenticatorSelection `json:"authenticatorSelection,omitempty"`
	Attestation            string                  `json:"attestation,omitempty"`
	PubKeyCredParams       []PubKeyCredParam       `json:"pubKeyCredParams,omitempty"`
	ExcludeCredentials     []AllowCredential       `json:"excludeCredentials,omitempty"`
	OTPURL                 string                  `json:"otpUrl,omitempty"`
}

// Creation returns what a CredentialCreator needs from the challenge.
func (r *CredentialChallenge) Creation() *CreationChallenge {
	return &CreationChallenge{
		Challenge: r.Challenge, User: r.User, RP: r.RP, AuthenticatorSelection: r.AuthenticatorSelection,
		Attestation: r.Attestation, PubKeyCredParams: r.PubKeyCredParams, ExcludeCredentials: r.ExcludeCredentials,
	}
}

// CreationChallenge is the part of a registration, recovery or credential
// challenge a new credential signs.
type CreationChallenge struct {
	Challenge              string
	User                   ChallengeUser
	RP                     *RelyingParty
	AuthenticatorSelection *AuthenticatorSelection
	Attestation            string
	PubKeyCredParams       []PubKeyCredParam
	ExcludeCredentials     []AllowCredential
}

// Attestation is a new credential signed over a creation challenge
// (spec 3.5, 7).
type Attestation struct {
	CredentialKind      CredentialKind  `json:"credentialKind"`
	CredentialInfo      *CredentialInfo `json:"credentialInfo"`
	CredentialName      string          `json:"credentialName,omitempty"`
	EncryptedPrivateKey string          `json:"encryptedPrivateKey,omitempty"`
}

// CredentialInfo holds an attestation's base64url fields.
type CredentialInfo struct {
	CredID          string `json:"credId"`
	ClientData      string `json:"clientData"`
	AttestationData string `json:"attestationData"`
}

// ---- login, registration, recovery (spec 5.1-5.3) ----

// LoginInitRequest is the body of POST /auth/login/init.
type LoginInitRequest struct {
	Username  string `json:"username"`
	OrgID     string `json:"orgId"`
	LoginCode string `json:"loginCode,omitempty"`
}

// LoginRequest is the body of POST /auth/login.
type LoginRequest struct {
	ChallengeIdentifier string     `json:"challengeIdentifier"`
	FirstFactor         *Assertion `json:"firstFactor"`
	SecondFactor        *Assertion `json:"secondFactor,omitempty"`
}

// LoginResponse is the answer of a login: a token, or, for a user who must
// use SSO, the SSO client id.
type LoginResponse struct {
	Token       string `json:"token,omitempty"`
	SSOClientID string `json:"ssoClientId,omitempty"`
}

// LogoutRequest is the body of PUT /auth/logout.
type LogoutRequest struct {
	AllSessions bool `json:"allSessions,omitempty"`
}

// DelegatedLoginRequest is the body of POST /auth/login/delegated.
type DelegatedLoginRequest struct {
	Username string `json:"username"`
}

// CodeRequest asks for a login, registration or recovery code to be sent to
// a user.
type CodeRequest struct {
	Username string `json:"username"`
	OrgID    string `json:"orgId"`
}

// Message is the answer of calls that only report success.
type Message struct {
	Message string `json:"message"`
}

// RegistrationInitRequest is the body of POST /auth/registration/init.
type RegistrationInitRequest struct {
	OrgID            string `json:"orgId"`
	Username         string `json:"username"`
	RegistrationCode string `json:"registrationCode"`
}

// RegisterRequest is the body of POST /auth/registration: the new
// credentials, each signed over the registration challenge.
type RegisterRequest struct {
	FirstFactorCredential  *Attestation `json:"firstFactorCredential"`
	SecondFactorCredential *Attestation `json:"secondFactorCredential,omitempty"`
	RecoveryCredential     *Attestation `json:"recoveryCredential,omitempty"`
}

// WalletRequest is one wallet to create for a new end user.
type WalletRequest struct {
	Network string `json:"network"`
	Name    string `json:"name,omitempty"`
}

// RegisterEndUserRequest is the body of POST /auth/registration/enduser.
type RegisterEndUserRequest struct {
	RegisterRequest
	Wallets []WalletRequest `json:"wallets"`
}

// Registration is the answer of a registration or a recovery.
type Registration struct {
	Credential struct {
		UUID           string         `json:"uuid"`
		Kind           CredentialKind `json:"kind"`
		CredentialKind CredentialKind `json:"credentialKind,omitempty"`
		Name           string         `json:"name"`
	} `json:"credential"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		OrgID    string `json:"orgId"`
	} `json:"user"`
}

// EndUserRegistration is the answer of /auth/registration/enduser.
type EndUserRegistration struct {
	Registration
	Authentication struct {
		Token string `json:"token"`
	} `json:"authentication"`
	// Wallets are the created wallets, as the wallet API shows them.
	Wallets []json.RawMessage `json:"wallets"`
}

// DelegatedRegistrationRequest is the body of POST
// /auth/registration/delegated.
type DelegatedRegistrationRequest struct {
	Email      string   `json:"email"`
	Kind       UserKind `json:"kind"`
	ExternalID string   `json:"externalId,omitempty"`
}

// RecoveryInitRequest is the body of POST /auth/recover/user/init.
type RecoveryInitRequest struct {
	Username         string `json:"username"`
	VerificationCode string `json:"verificationCode"`
	OrgID            string `json:"orgId"`
	CredentialID     string `json:"credentialId"`
}

// DelegatedRecoveryRequest is the body of POST /auth/recover/user/delegated.
type DelegatedRecoveryRequest struct {
	Username     string `json:"username"`
	CredentialID string `json:"credentialId"`
}

// NewCredentials are the credentials a recovery installs.
type NewCredentials struct {
	FirstFactorCredential  *Attestation `json:"firstFactorCredential"`
	SecondFactorCredential *Attestation `json:"secondFactorCredential,omitempty"`
	RecoveryCredential     *Attestation `json:"recoveryCredential,omitempty"`
}

// RecoverRequest is the body of POST /auth/recover/user.
type RecoverRequest struct {
	Recovery       *Assertion     `json:"recovery"`
	NewCredentials NewCredentials `json:"newCredentials"`
}

// ---- user actions (spec 4.3, 4.4) ----

// ActionInitRequest is the body of POST /auth/action/init.
type ActionInitRequest struct {
	UserActionPayload    string `json:"userActionPayload"`
	UserActionHTTPMethod string `json:"userActionHttpMethod"`
	UserActionHTTPPath   string `json:"userActionHttpPath"`
	UserActionServerKind string `json:"userActionServerKind,omitempty"`
}

// ActionRequest is the body of POST /auth/action.
type ActionRequest struct {
	ChallengeIdentifier string     `json:"challengeIdentifier"`
	FirstFactor         *Assertion `json:"firstFactor"`
	SecondFactor        *Assertion `json:"secondFactor,omitempty"`
}

// ---- credentials (spec 5.4) ----

// Credential is a credential of the caller.
type Credential struct {
	Kind           CredentialKind `json:"kind"`
	CredentialID   string         `json:"credentialId"`
	CredentialUUID string         `json:"credentialUuid"`
	DateCreated    time.Time      `json:"dateCreated"`
	IsActive       bool           `json:"isActive"`
	Name           string         `json:"name"`
	PublicKey      string         `json:"publicKey"`
	RelyingPartyID string         `json:"relyingPartyId"`
	Origin         string         `json:"origin"`
}

// CredentialList is the answer of GET /auth/credentials.
type CredentialList struct {
	Items []Credential `json:"items"`
}

// CredentialInitRequest is the body of POST /auth/credentials/init.
type CredentialInitRequest struct {
	Kind CredentialKind `json:"kind"`
}

// CreateCredentialRequest is the body of POST /auth/credentials and POST
// /auth/credentials/code/verify.
type CreateCredentialRequest struct {
	CredentialKind      CredentialKind  `json:"credentialKind"`
	CredentialInfo      *CredentialInfo `json:"credentialInfo"`
	CredentialName      string          `json:"credentialName"`
	ChallengeIdentifier string          `json:"challengeIdentifier"`
	EncryptedPrivateKey string          `json:"encryptedPrivateKey,omitempty"`
}

// CredentialUUIDRequest names a credential to activate or deactivate.
type CredentialUUIDRequest struct {
	CredentialUUID string `json:"credentialUuid"`
}

// CredentialCodeRequest is the body of POST /auth/credentials/code.
type CredentialCodeRequest struct {
	// Expiration is at most one minute ahead; nil lets the server choose
	// (signet: one minute).
	Expiration *time.Time `json:"expiration,omitempty"`
}

// CredentialCode is a one-time code for adding a credential from another
// device.
type CredentialCode struct {
	Code       string    `json:"code"`
	Expiration time.Time `json:"expiration"`
}

// CredentialCodeInitRequest is the body of POST /auth/credentials/code/init.
type CredentialCodeInitRequest struct {
	CredentialKind CredentialKind `json:"credentialKind"`
	Code           string         `json:"code"`
}

// ---- users (spec 5.5) ----

// PermissionAssignmentInfo is one permission held by a user or token.
type PermissionAssignmentInfo struct {
	PermissionName string   `json:"permissionName"`
	PermissionID   string   `json:"permissionId"`
	AssignmentID   string   `json:"assignmentId"`
	Operations     []string `json:"operations,omitempty"`
}

// User is a user of the org.
type User struct {
	UserID                string                     `json:"userId"`
	Username              string                     `json:"username"`
	Name                  string                     `json:"name"`
	Kind                  UserKind                   `json:"kind"`
	CredentialUUID        string                     `json:"credentialUuid"`
	OrgID                 string                     `json:"orgId"`
	Permissions           []string                   `json:"permissions,omitempty"`
	IsActive              bool                       `json:"isActive"`
	IsServiceAccount      bool                       `json:"isServiceAccount"`
	IsRegistered          bool                       `json:"isRegistered"`
	IsSSORequired         bool                       `json:"isSSORequired"`
	PermissionAssignments []PermissionAssignmentInfo `json:"permissionAssignments"`
}

// ListUsersRequest filters and pages GET /auth/users.
type ListUsersRequest struct {
	Limit           int
	PaginationToken string
	Kind            UserKind
}

// UserList is one page of users.
type UserList struct {
	Items         []User `json:"items"`
	NextPageToken string `json:"nextPageToken,omitempty"`
}

// CreateUserRequest is the body of POST /auth/users.
type CreateUserRequest struct {
	Email         string   `json:"email"`
	Kind          UserKind `json:"kind"`
	PublicKey     string   `json:"publicKey,omitempty"`
	ExternalID    string   `json:"externalId,omitempty"`
	IsSSORequired bool     `json:"isSSORequired,omitempty"`
}

// UpdateUserRequest is the body of PUT /auth/users/:userId.
type UpdateUserRequest struct {
	IsSSORequired bool `json:"isSSORequired"`
}

// ---- access tokens: PATs and service accounts (spec 5.6, 5.7) ----

// AccessToken is a personal access token or a service-account token.
// AccessToken (the bearer token itself) is only set in the answer of the
// call that created it; signet keeps no copy.
type AccessToken struct {
	AccessToken           string                     `json:"accessToken,omitempty"`
	DateCreated           time.Time                  `json:"dateCreated"`
	CredID                string                     `json:"credId"`
	IsActive              bool                       `json:"isActive"`
	Kind                  TokenKind                  `json:"kind"`
	LinkedUserID          string                     `json:"linkedUserId"`
	LinkedAppID           string                     `json:"linkedAppId,omitempty"`
	Name                  string                     `json:"name"`
	OrgID                 string                     `json:"orgId"`
	PermissionAssignments []PermissionAssignmentInfo `json:"permissionAssignments"`
	PublicKey             string                     `json:"publicKey"`
	TokenID               string                     `json:"tokenId"`
	ExternalID            string                     `json:"externalId,omitempty"`
	ExpiresAt             *time.Time                 `json:"expiresAt,omitempty"`
}

// AccessTokenList is the answer of GET /auth/pats.
type AccessTokenList struct {
	Items []AccessToken `json:"items"`
}

// CreatePATRequest is the body of POST /auth/pats.
type CreatePATRequest struct {
	Name         string `json:"name"`
	PublicKey    string `json:"publicKey"`
	PermissionID string `json:"permissionId,omitempty"`
	ExternalID   string `json:"externalId,omitempty"`
	DaysValid    int    `json:"daysValid,omitempty"`
	SecondsValid int    `json:"secondsValid,omitempty"`
}

// UpdateAccessTokenRequest is the body of PUT /auth/pats/:id and PUT
// /auth/service-accounts/:id.
type UpdateAccessTokenRequest struct {
	Name       string `json:"name,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
}

// ServiceAccount is a service account: a user with no credentials of its
// own and its access tokens. Its id is UserInfo.UserID.
type ServiceAccount struct {
	UserInfo     User          `json:"userInfo"`
	AccessTokens []AccessToken `json:"accessTokens"`
}

// ServiceAccountList is the answer of GET /auth/service-accounts.
type ServiceAccountList struct {
	Items []ServiceAccount `json:"items"`
}

// CreateServiceAccountRequest is the body of POST /auth/service-accounts.
type CreateServiceAccountRequest struct {
	Name         string `json:"name"`
	PublicKey    string `json:"publicKey"`
	PermissionID string `json:"permissionId,omitempty"`
	ExternalID   string `json:"externalId,omitempty"`
	DaysValid    int    `json:"daysValid,omitempty"`
}

// ---- permissions (spec 6) ----

// ChangeRequest is a pending change to a permission or an assignment that
// awaits approval.
type ChangeRequest struct {
	ID        string `json:"id"`
	Requester struct {
		UserID  string `json:"userId"`
		TokenID string `json:"tokenId,omitempty"`
		AppID   string `json:"appId,omitempty"`
	} `json:"requester"`
	Status        string          `json:"status"`
	EntityID      string          `json:"entityId"`
	DateCreated   time.Time       `json:"dateCreated"`
	DateResolved  *time.Time      `json:"dateResolved,omitempty"`
	ApprovalID    string          `json:"approvalId,omitempty"`
	Kind          string          `json:"kind"`
	OperationKind string          `json:"operationKind"`
	Body          json.RawMessage `json:"body,omitempty"`
}

// Permission is a named set of operations.
type Permission struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	Operations           []string       `json:"operations"`
	Status               string         `json:"status"`
	IsImmutable          bool           `json:"isImmutable"`
	IsArchived           bool           `json:"isArchived"`
	DateCreated          time.Time      `json:"dateCreated"`
	DateUpdated          time.Time      `json:"dateUpdated"`
	PendingChangeRequest *ChangeRequest `json:"pendingChangeRequest,omitempty"`
}

// ListRequest pages a list.
type ListRequest struct {
	Limit           int
	PaginationToken string
}

// PermissionList is one page of permissions.
type PermissionList struct {
	Items         []Permission `json:"items"`
	NextPageToken string       `json:"nextPageToken,omitempty"`
}

// CreatePermissionRequest is the body of POST /permissions.
type CreatePermissionRequest struct {
	Name       string   `json:"name"`
	Operations []string `json:"operations"`
}

// UpdatePermissionRequest is the body of PUT /permissions/:id; empty
// fields are left as they are.
type UpdatePermissionRequest struct {
	Name       string   `json:"name,omitempty"`
	Operations []string `json:"operations,omitempty"`
}

// Assignment gives a permission to a user, service account or PAT.
type Assignment struct {
	ID                   string         `json:"id"`
	PermissionID         string         `json:"permissionId"`
	IdentityID           string         `json:"identityId"`
	IsImmutable          bool           `json:"isImmutable"`
	DateCreated          time.Time      `json:"dateCreated"`
	DateUpdated          time.Time      `json:"dateUpdated"`
	PendingChangeRequest *ChangeRequest `json:"pendingChangeRequest,omitempty"`
}

// AssignmentList is one page of assignments.
type AssignmentList struct {
	Items         []Assignment `json:"items"`
	NextPageToken string       `json:"nextPageToken,omitempty"`
}
