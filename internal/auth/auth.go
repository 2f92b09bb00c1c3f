// Package auth is signet's domain: orgs, users, credentials, tokens,
// challenges, user actions and permissions, the store interfaces they are
// kept behind, and Service, which implements every use case and every
// security rule. Handlers decode, call and encode; stores persist; neither
// decides who may do what (STYLE.md habit 1).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/credential"
	"github.com/signet-auth/signet/internal/token"
)

// Tokens mints and verifies signed bearer tokens (internal/token.Issuer).
type Tokens interface {
	Mint(c token.Claims) (string, error)
	Verify(tok string) (*token.Claims, error)
}

// Config holds the Service's dependencies and policy settings. Zero
// durations take the defaults of spec 12.
type Config struct {
	Store  Store
	Tokens Tokens
	Logger *slog.Logger
	Now    func() time.Time

	ChallengeTTL time.Duration // 15 min (spec 12.4)
	ActionTTL    time.Duration // 5 min (spec 12.3)
	LoginTTL     time.Duration // 6 h (spec 12.6)
	TempTTL      time.Duration // 15 min
	CodeTTL      time.Duration // 4 h (spec 12.12)
	// RecoveryCodeTTL is the life of a recovery code: shorter than a
	// registration code's, since one opens an existing account.
	RecoveryCodeTTL time.Duration // 15 min
	// SignatureWindow is how old an RFC 9421 signature's created may be,
	// and how far its expires may lie after it (httpsig.go).
	SignatureWindow time.Duration // 60 s
	// PublicURL, when set, is the scheme and authority clients reach
	// signet at (behind a TLS-terminating proxy): an RFC 9421 signature's
	// @target-uri is rebuilt on it instead of on the connection and Host
	// field (httpsig.go).
	PublicURL *url.URL

	// Delivery sends registration codes to users; nil: codes reach users
	// only through the operator (signet users invite).
	Delivery Delivery

	// ExtraOperations are operation names an operator declares for the APIs
	// signet guards as a gateway (e.g. "Orders:Create"); permissions may name
	// them like signet's own.
	ExtraOperations []string

	// RPID and RPName describe the WebAuthn relying party in challenges;
	// Origins are the web origins passkeys may be used from. Passkeys are
	// refused unless RPID and Origins are set.
	RPID    string
	RPName  string
	Origins []string

	// TokenCacheSize is the most verified bearer tokens kept in memory
	// (tokencache.go); default DefaultTokenCacheSize.
	TokenCacheSize int
	// RefusalFloor is the least time a refused registration, recovery,
	// credential-code step or login takes (10ms by default), so that its
	// time does not tell which rule refused it, nor whether a login's user
	// exists (refusal.go, session.go Login).
	RefusalFloor time.Duration
	// ChallengeKey (ChallengeKeySize bytes) seals challenges (seal.go).
	// Every replica sharing a database must have the same key: servers
	// derive it from the master key. Nil: a random key of this Service
	// alone, so a challenge issued by one Service cannot be answered on
	// another (tests).
	ChallengeKey []byte

	// DisableAudit turns the audit log off (audit.go). Only benchmarks set
	// it, to measure what recording costs; servers always record.
	DisableAudit bool

	// OpenID verifies ID tokens and runs the code flow of the orgs'
	// OpenID providers (oidc.go; internal/oidc). Nil: social login and
	// SSO refuse every attempt.
	OpenID OpenID

	// Caches, if set, is told of every cache lookup (observe.go).
	Caches CacheObserver
}

// Service implements signet's use cases. It is safe for concurrent use.
type Service struct {
	store  Store
	tokens Tokens
	log    *slog.Logger
	now    func() time.Time
	cfg    Config
	ops    map[string]bool         // every operation a permission may name
	fido2  *credential.Fido2Policy // nil: passkeys not configured
	sealer *challengeSealer
	// decoyKey makes the credential ids of decoy login challenges
	// (decoy.go).
	decoyKey []byte

	verified *verifiedTokens
	opsCache *operationsCache
	keys     *parsedKeys // Key credentials' parsed PEM (keycache.go)
	// loginKeys lets a login verify an answer without a store read
	// (logincache.go).
	loginKeys *loginKeys
	// sendSlots bounds the codes being mailed in the background
	// (refusal.go).
	sendSlots chan struct{}

	gatewayState // policies over the route file's operations (gatewaypolicy.go)
}

// Delivery sends registration, recovery and login codes to the user they belong
// to (e-mail, chat...). A code must reach no one else and no log.
type Delivery interface {
	SendRegistrationCode(ctx context.Context, org *Org, u *User, code string) error
	SendRecoveryCode(ctx context.Context, org *Org, u *User, code string) error
	SendLoginCode(ctx context.Context, org *Org, u *User, code string) error
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Tokens == nil {
		return nil, errors.New("auth: Store and Tokens are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.ChallengeTTL, 15*time.Minute)
	def(&cfg.ActionTTL, 5*time.Minute)
	def(&cfg.LoginTTL, 6*time.Hour)
	def(&cfg.TempTTL, 15*time.Minute)
	def(&cfg.CodeTTL, 4*time.Hour)
	def(&cfg.RecoveryCodeTTL, 15*time.Minute)
	def(&cfg.SignatureWindow, DefaultSignatureWindow)
	if cfg.TokenCacheSize <= 0 {
		cfg.TokenCacheSize = DefaultTokenCacheSize
	}
	def(&cfg.RefusalFloor, 10*time.Millisecond)
	if cfg.RPName == "" {
		cfg.RPName = "signet"
	}
	ops := map[string]bool{}
	for _, op := range operations {
		ops[op] = true
	}
	for _, op := range cfg.ExtraOperations {
		if !validOperation(op) {
			return nil, fmt.Errorf("auth: operation name %q must be Words:Separated:ByColons", op)
		}
		ops[op] = true
	}
	sealer, err := newChallengeSealer(cfg.ChallengeKey)
	if err != nil {
		return nil, err
	}
	decoyKey := newDecoyKey(cfg.ChallengeKey)
	cfg.ChallengeKey = nil // kept in sealer only
	svc := &Service{store: cfg.Store, tokens: cfg.Tokens, log: cfg.Logger, now: cfg.Now, cfg: cfg, ops: ops,
		verified: newVerifiedTokens(cfg.TokenCacheSize), opsCache: newOperationsCache(OperationsCacheSize, ops),
		keys: newParsedKeys(keyCacheSize), loginKeys: newLoginKeys(loginKeyCacheSize),
		sendSlots: make(chan struct{}, maxPendingSends), sealer: sealer, decoyKey: decoyKey,
		gatewayState: newGatewayState(cfg.ExtraOperations)}
	if cfg.RPID != "" {
		p := &credential.Fido2Policy{RPID: cfg.RPID, Origins: cfg.Origins}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("auth: passkey settings: %w", err)
		}
		svc.fido2 = p
	}
	return svc, nil
}

// clock returns the current time as stored: UTC, millisecond precision (the
// precision of Dfns dates, spec 1.5).
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Principal is the authenticated caller of a request.
type Principal struct {
	OrgID          string
	UserID         string
	Username       string
	UserKind       UserKind
	TokenID        string
	Kind           token.Kind // KindLogin, KindPAT or KindServiceAccount
	CredentialUUID string
	PermissionID   string // PAT restriction, if any

	// authzVersion is the org's authorization version read with the token
	// (PrincipalState.AuthzVersion); authzKnown is false for a Principal
	// not made by Authenticate, which Authorize then checks in the store.
	authzVersion int64
	authzKnown   bool
	// approval is set on the initiator's Principal while it runs an
	// approved activity (approval.go): its approval was the policy gate.
	approval string
	// signers are the credentials p signs with, read with p by
	// AuthenticateSigner for this request; nil when they were not read.
	signers []*Credential
}

// IsUserSession reports whether p is a user's login session (not a PAT or a
// service account).
func (p *Principal) IsUserSession() bool { return p.Kind == token.KindLogin }

// newID returns "<prefix>-xxxxx-xxxxx-xxxxxxxxxxxxxxxx" with 130 random bits
// in lowercase base32, the shape of Dfns ids (spec 1.5).
func newID(prefix string) string {
	t := strings.ToLower(rand.Text()) // 26 chars
	return prefix + "-" + t[:5] + "-" + t[5:10] + "-" + t[10:]
}

// sortedBase32 is the alphabet of rand.Text in lowercase, in byte order,
// so that a number written in it sorts as its value does.
const sortedBase32 = "234567abcdefghijklmnopqrstuvwxyz"

// newOrderedID returns an id of newID's shape whose first ten characters
// are the wall-clock time in milliseconds (base32 in sortedBase32, most significant
// first) and whose other sixteen are random (80 bits). A user action's id is
// the key of three indexes written by every signed request (actions,
// audit_entries, audit_outcomes), and a challenge's id the key of its spent
// record (spent_challenges), written by every login and action complete:
// ids made one after the other sort one after the other, so an insert
// lands on the last page of each index, which the other inserts of the
// same commit write too, instead of on a random page of its own
// (docs/performance.md, "sigperf", "dfnscpu"). Neither id is a secret (the
// user-action token and the challenge value are; a challenge's id is only
// ever seen sealed), so that it tells when it was made costs nothing.
func newOrderedID(prefix string) string {
	var t [26]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 9; i >= 0; i-- {
		t[i] = sortedBase32[ms&31]
		ms >>= 5
	}
	copy(t[10:], strings.ToLower(rand.Text()))
	return prefix + "-" + string(t[:5]) + "-" + string(t[5:10]) + "-" + string(t[10:])
}

// newSecret returns 32 random bytes, unpadded base64url: challenges and
// user-action tokens (spec 12.4).
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// actionTokenStamp is the length of the time stamp a user-action token
// starts with (newActionToken): newOrderedID's ten characters.
const actionTokenStamp = 10

// newActionToken returns a fresh user-action token and the key its action
// is stored and found by (Action.TokenHash). The token is a time stamp,
// the wall-clock milliseconds in sortedBase32 as newOrderedID writes them,
// followed by newSecret's 32 random bytes; its key is that stamp followed
// by the SHA-256 of the whole token (actionTokenKey).
//
// Why: the key is indexed (the store finds an action by it, and refuses
// a second action with it), and as a bare hash every action complete
// inserted into a random page of that index and every signed request read
// one: at 16 clients about one page of WAL per flow, written again by the
// checkpoint. Keys that start with the time sort as they were made, so a
// commit's inserts share the index's last page and a use finds the page
// a recent commit wrote (docs/performance.md, "sqlflow3"). The stamp tells
// when the token was made, which its action's id (returned with it, and
// time-ordered) tells already; the secret is as before.
func newActionToken() (tok string, key []byte) {
	var t [actionTokenStamp]byte
	ms := uint64(time.Now().UnixMilli())
	for i := actionTokenStamp - 1; i >= 0; i-- {
		t[i] = sortedBase32[ms&31]
		ms >>= 5
	}
	tok = string(t[:]) + newSecret()
	return tok, actionTokenKey(tok)
}

// actionTokenKey is the key of the action of the user-action token tok:
// for a token newActionToken made, its stamp followed by the SHA-256 of
// tok; for any other string (a token made before stamps, 43 characters),
// the SHA-256 of it alone, which is how its action was stored. Either way
// the key holds the token's hash, so only the token finds its action.
func actionTokenKey(tok string) []byte {
	if !stamped(tok) {
		return hash(tok)
	}
	h := sha256.Sum256([]byte(tok))
	return append([]byte(tok[:actionTokenStamp]), h[:]...)
}

// stamped reports whether tok has the shape newActionToken makes: a
// stamp of sortedBase32 characters, then newSecret's 43.
func stamped(tok string) bool {
	if len(tok) != actionTokenStamp+43 {
		return false
	}
	for i := range actionTokenStamp {
		if strings.IndexByte(sortedBase32, tok[i]) < 0 {
			return false
		}
	}
	return true
}

// actionTokenHash is the SHA-256 of the token an action key was made
// from (actionTokenKey): what the audit entry records as the token's hash
// (audit.Entry.ActionTokenHash), whatever the key's form.
func actionTokenHash(key []byte) []byte {
	return key[len(key)-sha256.Size:]
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// AfterTimeout bounds work that must finish even when the request that
// started it has ended or its client has gone (burning a refused challenge,
// recording the outcome of a spent user action): it outlives the request's
// deadline, but never waits on a stalled database for long.
const AfterTimeout = 2 * time.Second

// afterwards returns a context for such work: not cancelled with ctx, but
// bounded by AfterTimeout.
func afterwards(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), AfterTimeout)
}

// internal wraps an unexpected store or library error; its detail stays in
// the logs.
func internalErr(err error) *Error {
	return wrap(Internal, msgInternal, err)
}
