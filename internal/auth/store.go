package auth

import (
	"context"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/token"
)

// Org is a tenant: every other record belongs to exactly one org, and no
// query ever crosses orgs.
type Org struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// UserKind is the kind of a user (spec 5.5).
type UserKind string

// User kinds.
const (
	CustomerEmployee UserKind = "CustomerEmployee"
	EndUser          UserKind = "EndUser"
)

// User is a person or a service account of an org.
type User struct {
	ID               string
	OrgID            string
	Username         string
	Kind             UserKind
	IsActive         bool
	IsArchived       bool
	IsRegistered     bool
	IsServiceAccount bool
	IsSSORequired    bool
	ExternalID       string
	CreatedAt        time.Time
}

// CredentialKind is the kind of a credential (spec 3.1).
type CredentialKind string

// Credential kinds.
const (
	KindKey                  CredentialKind = "Key"
	KindFido2                CredentialKind = "Fido2"
	KindRecoveryKey          CredentialKind = "RecoveryKey"
	KindPasswordProtectedKey CredentialKind = "PasswordProtectedKey"
	KindPassword             CredentialKind = "Password"
	KindTotp                 CredentialKind = "Totp"
)

// Credential is a public key registered to a user, or to a PAT or service
// account token (TokenID set), that can sign challenges.
type Credential struct {
	UUID      string // cr-…, the server's id
	OrgID     string
	UserID    string
	TokenID   string // non-empty: the credential of that long-lived token
	CredID    string // the client's id, stored and echoed byte for byte (spec 1.5)
	Kind      CredentialKind
	Name      string
	PublicKey string // Key: PEM as registered; Fido2: base64url COSE key
	Algorithm string
	IsActive  bool
	SignCount uint32
	RPID      string
	Origin    string
	CreatedAt time.Time
	// EncryptedPrivateKey is a RecoveryKey's private key as the client
	// encrypted it, handed back by recovery init (spec 3.1); signet cannot
	// decrypt it. Empty for every other kind.
	EncryptedPrivateKey string
}

// AccessToken is the record of a bearer token signet issued: login sessions,
// PATs and service-account tokens. The token itself is never stored (spec
// 12.7); this row lets signet revoke it.
type AccessToken struct {
	ID             string // to-… or, for login sessions, the jti
	OrgID          string
	UserID         string
	Kind           token.Kind
	Name           string
	CredentialUUID string // login: the credential used; PAT/SA: the token's own key
	PermissionID   string // PAT: optional restriction
	ExternalID     string
	IsActive       bool
	IsArchived     bool
	ExpiresAt      time.Time
	CreatedAt      time.Time
}

// PrincipalState is everything the per-request check needs about a bearer
// token, and nothing more: it is read on every authenticated request, and
// the driver's cost grows with every column (issue 13: 13 columns instead
// of the whole token and user rows' 25 save 35 allocations and ~15% of the
// read's CPU). The token's and user's other fields are read with
// AccessToken and User.
type PrincipalState struct {
	Token            PrincipalToken
	User             PrincipalUser
	CredentialActive bool // false when Token.CredentialUUID names a deactivated credential
	// AuthzVersion is the token's org's authorization version: it grows
	// with every write to the org's permissions or assignments, in the
	// writing transaction, and never goes back. Service caches operations
	// under it (operations.go).
	AuthzVersion int64
}

// PrincipalToken is the part of an AccessToken a request is checked with.
type PrincipalToken struct {
	ID, OrgID, UserID    string
	Kind                 token.Kind
	CredentialUUID       string
	PermissionID         string
	IsActive, IsArchived bool
	ExpiresAt            time.Time
}

// PrincipalUser is the part of a User a request is checked with.
type PrincipalUser struct {
	ID, OrgID, Username  string
	Kind                 UserKind
	IsActive, IsArchived bool
}

// PrincipalOf returns the PrincipalState that Store.Principal reads for
// the stored token t of user u (conformance tests compare with it).
func PrincipalOf(t *AccessToken, u *User, credentialActive bool, authzVersion int64) *PrincipalState {
	return &PrincipalState{
		Token: PrincipalToken{ID: t.ID, OrgID: t.OrgID, UserID: t.UserID, Kind: t.Kind, CredentialUUID: t.CredentialUUID,
			PermissionID: t.PermissionID, IsActive: t.IsActive, IsArchived: t.IsArchived, ExpiresAt: t.ExpiresAt},
		User:             PrincipalUser{ID: u.ID, OrgID: u.OrgID, Username: u.Username, Kind: u.Kind, IsActive: u.IsActive, IsArchived: u.IsArchived},
		CredentialActive: credentialActive,
		AuthzVersion:     authzVersion,
	}
}

// Purpose says what a challenge may be answered for.
type Purpose string

// Challenge purposes.
const (
	PurposeLogin        Purpose = "login"
	PurposeRegistration Purpose = "registration"
	PurposeAction       Purpose = "action"
	PurposeCredential   Purpose = "credential"
	PurposeSSO          Purpose = "sso" // the state of an SSO login (oidc.go)
)

// Challenge is a single-use random value a client must sign. It is spent
// the first time it is answered, right or wrong (spec 12.4). It is not
// stored: the client holds it sealed (seal.go), and the store keeps only
// the ids of spent challenges (ChallengeStore).
type Challenge struct {
	ID             string // the key of its spent record (not the challengeIdentifier, which is the seal)
	OrgID          string
	UserID         string
	TokenID        string // the principal that asked (action, credential)
	Purpose        Purpose
	Challenge      string
	Method         string // action binding
	Path           string
	Query          string
	PayloadHash    []byte
	CredentialKind CredentialKind // credential challenges
	CodeHash       []byte         // credential-code challenges: the code their success spends
	ExpiresAt      time.Time
	CreatedAt      time.Time
	// SSO state (oidc.go): the provider the login started with, the
	// redirect URI the authorization code is bound to, and the PKCE
	// verifier. Challenge holds the ID token's nonce.
	ProviderID   string
	RedirectURI  string
	PKCEVerifier string
}

// Action is a user-action token: signed by a credential, single use, bound to
// one identity, method, path (and query) and payload (spec 12.3). Only a hash
// of the token is stored.
type Action struct {
	ID             string // uj-…
	TokenHash      []byte // the key of the opaque token: its SHA-256, after the token's time stamp if it has one (actionTokenKey)
	OrgID          string
	UserID         string
	TokenID        string
	CredentialUUID string
	Method         string
	Path           string
	Query          string
	PayloadHash    []byte
	ExpiresAt      time.Time
	CreatedAt      time.Time
	UsedAt         *time.Time
}

// Permission is a named set of operations (spec 6).
type Permission struct {
	ID          string
	OrgID       string
	Name        string
	Operations  []string
	IsImmutable bool
	IsArchived  bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Assignment grants a permission to an identity (user, service account or
// PAT token id).
type Assignment struct {
	ID           string
	OrgID        string
	PermissionID string
	IdentityID   string
	IsImmutable  bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AssignedPermission is an assignment together with the permission it grants,
// as shown on a user (spec 5.5 permissionAssignments).
type AssignedPermission struct {
	Assignment Assignment
	Permission Permission
}

// NewOrg is everything bootstrap creates, written in one transaction.
type NewOrg struct {
	Org        Org
	User       User
	Permission Permission
	Assignment Assignment
	Code       RegistrationCode
}

// RegistrationCode is a one-time code a user registers with; only its hash is
// stored (spec 12.12).
type RegistrationCode struct {
	UserID    string
	Hash      []byte
	ExpiresAt time.Time
}

// UserQuery selects a page of an org's users, ordered by id.
type UserQuery struct {
	Kind            UserKind // "" = any
	ServiceAccounts bool     // true: only service accounts; false: only people
	After           string   // ids greater than this ("" = from the start)
	Limit           int      // at most this many (the caller asks one more to know if a page follows)
}

// PageQuery selects a page of a list ordered by id.
type PageQuery struct {
	After string
	Limit int
}

// LongLived is a PAT or a service account created in one transaction: the
// service account's user (nil for a PAT), the token record, the key
// credential the token signs with, and an optional first assignment.
type LongLived struct {
	User       *User
	Token      *AccessToken
	Credential *Credential
	Assignment *Assignment
}

// OrgStore persists orgs.
type OrgStore interface {
	// CreateOrg writes the org, its first user, the permission and assignment
	// that make the user an admin, and the user's registration code, atomically.
	CreateOrg(ctx context.Context, n NewOrg) error
	Org(ctx context.Context, id string) (*Org, error)
	// HasOrgs reports whether any org exists (false until the first
	// bootstrap), so that serve can tell an operator how to start.
	HasOrgs(ctx context.Context) (bool, error)
}

// LoginReadStore reads, in one call each, what the two login requests need
// (one query on SQLite, one round trip on PostgreSQL, where several calls
// cost one each).
type LoginReadStore interface {
	// UserWithCredentials returns the user of orgID named username and its
	// own credentials (not its tokens'), oldest first, as UserByUsername
	// and Credentials would. ErrNotFound when there is no such user.
	UserWithCredentials(ctx context.Context, orgID, username string) (*User, []*Credential, error)
	// LoginSubject reports whether the challenge challengeID is recorded as
	// spent (as ChallengeSpent) and returns the user of orgID with id
	// userID and its own credentials, oldest first (as User and
	// Credentials). u is nil, and creds empty, when there is no such user:
	// spent is told all the same.
	LoginSubject(ctx context.Context, orgID, userID, challengeID string) (spent bool, u *User, creds []*Credential, err error)
}

// UserStore persists users and their registration codes.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error
	User(ctx context.Context, orgID, id string) (*User, error)
	UserByUsername(ctx context.Context, orgID, username string) (*User, error)
	// SetRegistrationCode replaces the user's codes with c (voiding every
	// earlier one): only for an operator's or an admin's new invitation.
	SetRegistrationCode(ctx context.Context, c RegistrationCode) error
	// AddRegistrationCode adds c beside the user's other codes, which stay
	// valid, first deleting those that expired by now. ErrLimit when the
	// user already holds maxLive live codes; ErrNotFound when the user does
	// not exist.
	AddRegistrationCode(ctx context.Context, c RegistrationCode, now time.Time, maxLive int) error
	// CheckRegistrationCode returns the user's code with this hash without
	// spending it (its expiry is the caller's to check); a successful
	// RegisterUser spends it. Otherwise it counts one wrong guess against
	// every code of the user, deletes those that reached maxAttempts, and
	// returns ErrNotFound.
	CheckRegistrationCode(ctx context.Context, userID string, hash []byte, maxAttempts int) (*RegistrationCode, error)
	// ConsumeRegistrationCode atomically removes and returns the user's code
	// if its hash equals hash. ErrNotFound when the user has no code with
	// that hash; a wrong guess leaves the real code in place.
	ConsumeRegistrationCode(ctx context.Context, userID string, hash []byte) (*RegistrationCode, error)
	// RegisterUser inserts the credentials, marks the user registered and
	// deletes the user's registration codes, atomically. ErrUsed when the
	// user was already registered.
	RegisterUser(ctx context.Context, userID string, creds []*Credential) error
}

// CredentialStore persists credentials.
type CredentialStore interface {
	// CreateCredential inserts c. ErrDuplicate when its org already has
	// c.CredID.
	CreateCredential(ctx context.Context, c *Credential) error
	// Credentials lists the user's own credentials (not those of its tokens).
	Credentials(ctx context.Context, orgID, userID string) ([]*Credential, error)
	// TokenCredentials lists the credentials of a PAT or service-account token.
	TokenCredentials(ctx context.Context, orgID, tokenID string) ([]*Credential, error)
	CredentialByUUID(ctx context.Context, orgID, uuid string) (*Credential, error)
	// SetCredentialActive activates or deactivates a user's own credential.
	SetCredentialActive(ctx context.Context, orgID, userID, uuid string, active bool) error
	// UpdateSignCount sets the counter only if it still holds old, atomically.
	// ErrUsed when it does not (a concurrent or replayed assertion).
	UpdateSignCount(ctx context.Context, uuid string, old, new uint32) error
}

// TokenStore persists the records of issued bearer tokens.
type TokenStore interface {
	CreateAccessToken(ctx context.Context, t *AccessToken) error
	// CreateAccessTokenForChallenge atomically records the challenge
	// challengeID (valid until expiresAt) as spent and inserts t: one
	// commit. ErrUsed, and nothing inserted, when the challenge was spent
	// before (of any number of concurrent calls with one challenge at most
	// one inserts).
	CreateAccessTokenForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, t *AccessToken) error
	// CreateLoginForChallenge is CreateAccessTokenForChallenge for a login
	// whose user and credential were not read since login init (Login's
	// readless path, session.go): in one commit it records the challenge
	// as spent and inserts the login record t only when, in that commit,
	// the store finds what login() and loginUser() check on a read
	// (auth enforces nothing of it itself on that path):
	//   - the user t.UserID exists in t.OrgID, is active, not archived,
	//     registered, not a service account, not SSO-required;
	//   - the credential t.CredentialUUID is that user's own (not a
	//     token's: token_id = ''), in t.OrgID, active, of kind kind.
	// It returns the user's name as that commit saw it, which the token's
	// claims carry (as the read path's token carries the name it read).
	// ErrUsed, and nothing written, when the challenge was spent before
	// (of concurrent calls with one challenge at most one inserts).
	// ErrRefused when the precondition does not hold: the challenge IS
	// recorded as spent, in the same commit (a refused answer burns it,
	// spec 12.4), and t is not inserted.
	CreateLoginForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, t *AccessToken, kind CredentialKind) (username string, err error)
	// Principal reads the token, its user and the state of its credential in
	// one call. ErrNotFound when the token or user does not exist in orgID.
	Principal(ctx context.Context, orgID, tokenID string) (*PrincipalState, error)
	// PrincipalSigners is Principal and, in the same read, the credentials
	// the token signs with, oldest first: its user's own (as Credentials)
	// when the stored token is a login session, else the token's own (as
	// TokenCredentials). A signing request needs both; one read instead of
	// two is one round trip less on a networked store. ErrNotFound as
	// Principal; creds is empty when there are none.
	PrincipalSigners(ctx context.Context, orgID, tokenID string) (st *PrincipalState, creds []*Credential, err error)
	// RevokeAccessToken deactivates one token of the user.
	RevokeAccessToken(ctx context.Context, orgID, userID, tokenID string) error
	// RevokeSessions deactivates every login session of the user.
	RevokeSessions(ctx context.Context, orgID, userID string) error
}

// ChallengeStore records which challenges were answered. Challenges are
// sealed, not stored (seal.go); what makes each one single use (spec 12.4)
// is the record of its spending, keyed by its id, which the store keeps at
// least until SpentChallengeGrace after expiresAt. The ...ForChallenge
// writes record it in the same commit as what an accepted answer creates.
type ChallengeStore interface {
	// SpendChallenge records the challenge id, valid until expiresAt, as
	// spent. ErrUsed when it was spent before: of any number of concurrent
	// calls (or ...ForChallenge writes) with one id exactly one succeeds.
	SpendChallenge(ctx context.Context, id string, expiresAt time.Time) error
	// ChallengeSpent reports whether the challenge id is recorded as spent.
	// A read, for refusing a replayed answer before checking it; only the
	// spending writes decide single use.
	ChallengeSpent(ctx context.Context, id string) (bool, error)
}

// ActionStore persists user-action tokens.
type ActionStore interface {
	CreateAction(ctx context.Context, a *Action) error
	// CreateActionForChallenge atomically records the challenge
	// challengeID (valid until expiresAt) as spent and inserts a and,
	// unless pending is nil, its pending audit entry: one commit. ErrUsed,
	// and nothing inserted, when the challenge was spent before (of any
	// number of concurrent calls with one challenge at most one inserts).
	CreateActionForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, a *Action, pending *audit.Entry) error
	// SpendActionForChallenge records, in one commit, an action that is
	// spent as soon as it is created (an RFC 9421 signed request): it
	// records the challenge as spent and then either, when entry is nil,
	// inserts a used at now (the action row is the only record: Action
	// returns it until Sweep), or sets entry's Target to target, seals it
	// at now after its org's chain head and appends it, and stores no
	// action row: the entry is the action's record (AuditRecord by a.ID;
	// Action answers ErrNotFound), since no token of it is ever handed
	// out for UseAction to find. ErrUsed, and nothing written, when the
	// challenge was spent before (of any number of concurrent calls with
	// one challenge exactly one writes). ErrDuplicate when the row it
	// inserts (the action, or the entry) has an id taken; ErrNotFound when
	// a's user (without entry) or the entry's org (with one) is not there.
	SpendActionForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, a *Action, entry *audit.Entry, target string, now time.Time) error
	// UseAction atomically marks the unexpired, unused action with this
	// token hash used at now and returns it. It returns ErrUsed when the
	// action exists but was used before, ErrNotFound when there is no
	// unexpired action with that hash.
	UseAction(ctx context.Context, tokenHash []byte, now time.Time) (*Action, error)
	// Action returns the action of the org with this id, used or not,
	// until Sweep removes it. ErrNotFound when there is none.
	Action(ctx context.Context, orgID, id string) (*Action, error)
}

// PermissionStore persists permissions and their assignments.
type PermissionStore interface {
	// Operations returns the operations of every active (not archived)
	// permission assigned to identityID, deduplicated.
	Operations(ctx context.Context, orgID, identityID string) ([]string, error)
	// Assignments lists the permissions assigned to identityID.
	Assignments(ctx context.Context, orgID, identityID string) ([]AssignedPermission, error)
}

// IdentityStore persists what the management API of users, PATs, service
// accounts and permissions needs beyond login (spec 5.5-5.7, 6).
type IdentityStore interface {
	// ListUsers returns a page of the org's users.
	ListUsers(ctx context.Context, orgID string, q UserQuery) ([]*User, error)
	// UpdateUser writes the mutable fields of u (Username, IsActive,
	// IsArchived, IsSSORequired, ExternalID). ErrNotFound when u is not in
	// u.OrgID; ErrDuplicate when the new username is taken.
	UpdateUser(ctx context.Context, u *User) error
	// CreateLongLived writes a PAT or a service account atomically.
	// ErrDuplicate when a service account's name (its username) is taken in
	// the org, or a PAT's name is taken among its user's unarchived PATs.
	CreateLongLived(ctx context.Context, l LongLived) error
	// AccessToken returns one token record of the org.
	AccessToken(ctx context.Context, orgID, id string) (*AccessToken, error)
	// AccessTokens lists the user's token records of one kind.
	AccessTokens(ctx context.Context, orgID, userID string, kind token.Kind) ([]*AccessToken, error)
	// UpdateAccessToken writes the mutable fields of t (Name, ExternalID,
	// IsActive, IsArchived). ErrNotFound when t is not in t.OrgID;
	// ErrDuplicate when the new name is taken.
	UpdateAccessToken(ctx context.Context, t *AccessToken) error
	// CreatePermission inserts p. ErrDuplicate when its name is taken in its
	// org, archived permissions included.
	CreatePermission(ctx context.Context, p *Permission) error
	Permission(ctx context.Context, orgID, id string) (*Permission, error)
	ListPermissions(ctx context.Context, orgID string, q PageQuery) ([]*Permission, error)
	// UpdatePermission writes Name, Operations, IsArchived and UpdatedAt.
	// ErrNotFound when p is not in p.OrgID; ErrDuplicate when the name is
	// taken.
	UpdatePermission(ctx context.Context, p *Permission) error
	// CreateAssignment inserts a. ErrDuplicate when the identity already
	// has the permission; ErrNotFound when the permission is not in a.OrgID.
	CreateAssignment(ctx context.Context, a *Assignment) error
	ListAssignments(ctx context.Context, orgID, permissionID string, q PageQuery) ([]*Assignment, error)
	// Assignment returns one assignment of the permission. ErrNotFound when
	// there is none with that id in the org.
	Assignment(ctx context.Context, orgID, permissionID, id string) (*Assignment, error)
	// DeleteAssignment removes one assignment of the permission.
	// ErrNotFound when there is none with that id in the org.
	DeleteAssignment(ctx context.Context, orgID, permissionID, id string) error
}

// AdminGuardStore holds the writes that can take away an org's last way in
// (docs/authorization.md, rule 3). Each decides in the same transaction as
// it writes, serialised per org with every other guarded write (SQLite: the
// one writer; PostgreSQL: a lock on the org's row), so that no two
// concurrent calls can together leave the org without an admin. An active
// full admin is a user or service account that is active, registered, not
// archived, and assigned the org's immutable, unarchived
// ManagedFullAdminAccess.
type AdminGuardStore interface {
	// UpdateUserKeepingAdmin is UpdateUser, except that it returns
	// ErrLastAdmin, writing nothing, when the org has an active full admin
	// before the write and none after it.
	UpdateUserKeepingAdmin(ctx context.Context, u *User) error
	// DeleteAssignmentKeepingAdmin is DeleteAssignment, except that it
	// returns ErrLastAdmin, deleting nothing, when the org has an active
	// full admin before the delete and none after it.
	DeleteAssignmentKeepingAdmin(ctx context.Context, orgID, permissionID, id string) error
	// DeactivateCredentialKeepingAdmin is SetCredentialActive(false),
	// except that it returns ErrLastAdmin, writing nothing, when the
	// credential is an active one that signs in (not a RecoveryKey) and,
	// after the write, its user is the org's only active full admin and
	// has no active credential that signs in.
	DeactivateCredentialKeepingAdmin(ctx context.Context, orgID, userID, uuid string) error
}

// Sweeper removes expired single-use records.
type Sweeper interface {
	// Sweep deletes the actions that expired at or before now and the
	// spent-challenge records whose challenge expired at or before now
	// minus SpentChallengeGrace, and returns how many rows it removed.
	Sweep(ctx context.Context, now time.Time) (int64, error)
}

// Fencer is implemented by a store whose replicas may answer from memory
// what a change can make stale (the PostgreSQL store's Principal cache).
// Fence returns once every replica will answer every lookup that starts
// afterwards from a state that includes every change committed before
// Fence was called: a change must be fenced before it is acknowledged to
// its caller (spec 12.9: deactivation is immediate on every replica). An
// error means the change may not be in force everywhere yet (it wraps
// ErrUnavailable); it is committed all the same. A store that caches
// nothing another process can change (SQLite) does not implement it.
type Fencer interface {
	Fence(ctx context.Context) error
}

// ChangeMarker is a Fencer that can tell that nothing a fence protects was
// changed through it: ChangedSince(ChangeMark()) is false only when no
// write this store made (and acknowledged) after the mark was taken can
// have changed a state some replica may cache. A call that changed nothing
// of it needs no fence. Reporting a change that was not is always allowed.
type ChangeMarker interface {
	ChangeMark() uint64
	ChangedSince(mark uint64) bool
}

// ReadinessStore tells whether the store can serve now (/readyz, issue 12).
type ReadinessStore interface {
	// ProbeWrite commits a write (the replica's row of a probe table), so
	// that a database that still answers reads but cannot write is seen.
	ProbeWrite(ctx context.Context, replica string, now time.Time) error
	// PendingMigrations lists the schema versions this binary has that the
	// database has not applied.
	PendingMigrations(ctx context.Context) ([]int, error)
}

// Store is everything the Service needs from storage. internal/sqlite and
// internal/postgres implement it; internal/auth/storetest proves they agree.
type Store interface {
	OrgStore
	UserStore
	CredentialStore
	TokenStore
	ChallengeStore
	ActionStore
	PermissionStore
	IdentityStore
	AdminGuardStore
	AuditStore // audit.go
	RecoveryStore
	CredentialCodeStore
	PolicyStore       // policystore.go
	OIDCProviderStore // oidcstore.go
	LoginCodeStore    // logincode.go
	LoginReadStore
	Sweeper
	ReadinessStore
	token.KeyStore
	// Ping checks the database is reachable (healthz).
	Ping(ctx context.Context) error
	Close() error
}
