package httpapi_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

var (
	escalationSeed  = flag.Uint64("seed", 1, "seed of TestEscalationRandom (CI runs the default)")
	escalationCalls = flag.Int("escalation-calls", 1000, "calls TestEscalationRandom makes on each store")
)

// TestEscalationRandom starts from an org where a non-admin actor holds a
// random set of operations, then lets the actor and every identity it
// creates or reaches (users, service accounts, PATs) make random calls that
// create, change, archive, assign and revoke permissions and (de)activate
// and archive identities. After every call it checks the two invariants of
// docs/authorization.md: no identity holds an operation it did not hold at
// the start unless the actor held it at the start, and no identity that
// held more than the actor was deactivated or archived.
//
// Rerun a failure with: go test ./internal/httpapi -run TestEscalationRandom -seed N
func TestEscalationRandom(t *testing.T) {
	seed, calls := *escalationSeed, *escalationCalls
	if testing.Short() {
		calls /= 10
	}
	forEachStore(t, func(t *testing.T, e *env) {
		w := newWorld(t, e, seed)
		for i := 0; i < calls && len(w.callers) > 0; i++ {
			desc := w.step()
			w.log = append(w.log, fmt.Sprintf("%d: %s", i, desc))
			if i%10 != 9 && i != calls-1 {
				continue // checked every tenth call: the log below still names the culprit
			}
			if err := w.check(); err != nil {
				n := max(0, len(w.log)-15)
				t.Fatalf("seed %d, after call %d: %v\nlast calls:\n%s", seed, i, err, strings.Join(w.log[n:], "\n"))
			}
		}
		t.Logf("seed %d: %d calls, outcomes %v", seed, calls, w.outcomes)
	})
}

// world is the org the random test plays in.
type world struct {
	t         *testing.T
	e         *env
	rng       *rand.Rand
	admin     *user
	start     map[string]bool // the actor's operations at the start
	startList []string
	actor     string
	before    map[string]map[string]bool // every identity's operations at the start
	above     []string                   // identities that held more than the actor at the start
	callers   []caller                   // what the actor controls
	perms     []string                   // permission ids known to the actor
	ids       []string                   // user and service-account ids known to the actor
	log       []string
	outcomes  map[string]int
	n         int
}

// randomOps picks each operation with probability p; the operations that
// move authority are picked more often, so that the actor can try them.
func randomOps(rng *rand.Rand, p float64) []string {
	var out []string
	for _, op := range auth.AllOperations() {
		q := p
		if strings.HasPrefix(op, "Permissions:") || strings.HasPrefix(op, "Auth:ServiceAccounts:") ||
			strings.HasPrefix(op, "Auth:Users:") || op == "Auth:Pats:Create" {
			q = (1 + p) / 2
		}
		if rng.Float64() < q {
			out = append(out, op)
		}
	}
	return out
}

func newWorld(t *testing.T, e *env, seed uint64) *world {
	w := &world{t: t, e: e, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), outcomes: map[string]int{}}
	w.admin = e.newUser()
	adminPerm := e.adminPermission(w.admin)
	actorOps := randomOps(w.rng, 0.4)
	if len(actorOps) == 0 {
		actorOps = []string{"Permissions:Create"}
	}
	actor := e.member(w.admin, actorOps...)
	w.callers = append(w.callers, caller{kind: "user", id: actor.userID, token: actor.token, signer: actor.signer})
	w.ids = []string{w.admin.userID, actor.userID}
	w.actor = actor.userID
	w.perms = []string{adminPerm}
	// Others the actor can reach: people and service accounts holding
	// random operations, a second admin, and a few permissions.
	for i := 0; i < 3; i++ {
		ops := randomOps(w.rng, 0.3)
		v := e.member(w.admin)
		sa := e.createServiceAccount(w.admin, fmt.Sprintf("bot-%d", i), "")
		w.ids = append(w.ids, v.userID, sa.id)
		if len(ops) > 0 {
			pm := e.createPermission(w.admin, fmt.Sprintf("set-%d", i), ops...)
			e.assign(w.admin, pm, v.userID)
			e.assign(w.admin, pm, sa.id)
			w.perms = append(w.perms, pm)
		}
	}
	second := e.member(w.admin)
	e.assign(w.admin, adminPerm, second.userID)
	w.ids = append(w.ids, second.userID)
	w.perms = append(w.perms, e.createPermission(w.admin, "everything", auth.AllOperations()...))

	w.start, w.startList = set(actorOps), actorOps
	w.before = map[string]map[string]bool{}
	for _, u := range w.users() {
		ops := w.held(u.ID)
		w.before[u.ID] = ops
		for op := range ops {
			if !w.start[op] {
				w.above = append(w.above, u.ID)
				break
			}
		}
	}
	t.Logf("seed %d: actor holds %d operations: %v", seed, len(actorOps), actorOps)
	return w
}

func set(ops []string) map[string]bool {
	m := map[string]bool{}
	for _, op := range ops {
		m[op] = true
	}
	return m
}

// users lists every user and service account of the org, from the store.
func (w *world) users() []*auth.User {
	var out []*auth.User
	for _, sa := range []bool{false, true} {
		us, err := w.e.store.ListUsers(context.Background(), w.admin.orgID, auth.UserQuery{ServiceAccounts: sa, Limit: 10000})
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, us...)
	}
	return out
}

// held is what an identity holds in the store now (a full admin: every
// operation).
func (w *world) held(id string) map[string]bool {
	ops := w.e.storedOps(w.admin.orgID, id)
	if slices.Equal(ops, []string{"ALL"}) {
		ops = auth.AllOperations()
	}
	return set(ops)
}

// check verifies the two invariants.
func (w *world) check() error {
	for _, u := range w.users() {
		for op := range w.held(u.ID) {
			if !w.before[u.ID][op] && !w.start[op] {
				return fmt.Errorf("%s (%s) gained %s, which neither it nor the actor held", u.ID, u.Username, op)
			}
		}
	}
	for _, id := range w.above {
		u, err := w.e.store.User(context.Background(), w.admin.orgID, id)
		if err != nil {
			return err
		}
		if !u.IsActive || u.IsArchived {
			return fmt.Errorf("%s (%s), holding more than the actor, was deactivated or archived", id, u.Username)
		}
	}
	return nil
}

// someOps picks one to three operations, mostly among the actor's, so
// that many calls are ones the rule lets through.
func (w *world) someOps() []string {
	var out []string
	all := auth.AllOperations()
	for range 1 + w.rng.IntN(3) {
		if w.rng.IntN(5) > 0 {
			out = append(out, pick(w.rng, w.startList))
		} else {
			out = append(out, pick(w.rng, all))
		}
	}
	return out
}

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

// step makes one random call as one of the actor's callers and describes it.
func (w *world) step() string {
	e, rng := w.e, w.rng
	w.n++
	c := pick(rng, w.callers)
	if w.callers[0].id == w.actor && rng.IntN(2) == 0 {
		c = w.callers[0] // the actor itself half of the time: it holds the most
	}
	somePerm := pick(rng, w.perms)
	someID := pick(rng, w.ids)
	var k *keySigner // made only for the calls that register a key
	name := fmt.Sprintf("r%d", w.n)
	var method, path string
	var body any
	switch rng.IntN(12) {
	case 0:
		method, path, body = "POST", "/permissions", map[string]any{"name": name, "operations": w.someOps()}
	case 1:
		method, path, body = "PUT", "/permissions/"+somePerm, map[string]any{"operations": w.someOps()}
	case 2:
		method, path, body = "PUT", "/permissions/"+somePerm+"/archive", map[string]bool{"isArchived": rng.IntN(2) == 0}
	case 3, 4:
		method, path, body = "POST", "/permissions/"+somePerm+"/assignments", map[string]string{"identityId": someID}
	case 5:
		as, err := e.store.ListAssignments(context.Background(), w.admin.orgID, somePerm, auth.PageQuery{Limit: 1000})
		if err != nil || len(as) == 0 {
			return "no assignment to revoke on " + somePerm
		}
		method, path, body = "DELETE", "/permissions/"+somePerm+"/assignments/"+pick(rng, as).ID, "{}"
	case 6:
		k = newKeySigner(w.t, "ES256")
		b := map[string]string{"name": name, "publicKey": k.pem}
		if rng.IntN(4) > 0 {
			b["permissionId"] = somePerm
		}
		method, path, body = "POST", "/auth/service-accounts", b
	case 7:
		k = newKeySigner(w.t, "ES256")
		b := map[string]string{"name": name, "publicKey": k.pem}
		if rng.IntN(4) > 0 {
			b["permissionId"] = somePerm
		}
		method, path, body = "POST", "/auth/pats", b
	case 8:
		method, path, body = "POST", "/auth/users", map[string]string{"email": name + "@example.com", "kind": "CustomerEmployee"}
	case 9, 10:
		verb := pick(rng, []string{"/activate", "/deactivate", ""})
		m := "PUT"
		if verb == "" {
			m = "DELETE"
		}
		method, path, body = m, "/auth/users/"+someID+verb, "{}"
		if w.isServiceAccount(someID) {
			path = "/auth/service-accounts/" + someID + verb
		}
	case 11:
		method, path, body = "PUT", "/permissions/"+somePerm, map[string]any{"name": name, "operations": w.someOps()}
	}
	r := w.try(c, method, path, body)
	outcome := fmt.Sprint(r.status)
	switch msg := r.errMsg(); {
	case strings.Contains(msg, "the caller does not hold"):
		outcome += " escalation refused"
	case strings.Contains(msg, "is not authorized to perform operation"):
		outcome += " operation not held"
	case strings.Contains(msg, "last active holder"):
		outcome += " last admin"
	}
	w.outcomes[outcome]++
	desc := fmt.Sprintf("%s %s %s %s -> %d %s", c.kind, c.id, method, path, r.status, r.errMsg())
	if r.status == 401 { // deactivated, archived or revoked: it acts no more
		w.callers = slices.DeleteFunc(w.callers, func(x caller) bool { return x.token == c.token })
		return desc
	}
	if r.status != 200 {
		return desc
	}
	switch {
	case method == "POST" && path == "/permissions":
		w.perms = append(w.perms, r.str("id"))
	case path == "/auth/service-accounts":
		toks := r.body["accessTokens"].([]any)
		tok := toks[0].(map[string]any)
		k.credID = tok["credId"].(string)
		id := r.str("userInfo", "userId")
		w.ids = append(w.ids, id)
		w.callers = append(w.callers, caller{kind: "service account", id: id, token: tok["accessToken"].(string), signer: k})
	case path == "/auth/pats":
		k.credID = r.str("credId")
		w.callers = append(w.callers, caller{kind: "PAT", id: c.id, token: r.str("accessToken"), signer: k})
	case path == "/auth/users":
		id := r.str("userId")
		w.ids = append(w.ids, id)
		if len(w.callers) < 12 { // register it: the actor then acts as it too
			u := e.register(w.admin.orgID, name+"@example.com", e.mailedCode(name+"@example.com"))
			w.callers = append(w.callers, caller{kind: "user", id: u.userID, token: u.token, signer: u.signer})
		}
	}
	return desc
}

func (w *world) isServiceAccount(id string) bool {
	u, err := w.e.store.User(context.Background(), w.admin.orgID, id)
	return err == nil && u.IsServiceAccount
}

// try makes a signed call as c and returns the first answer that is not a
// success: a caller deactivated by an earlier call gets 401 on action init.
func (w *world) try(c caller, method, path string, body any) resp {
	e := w.e
	payload, ok := body.(string)
	if !ok {
		payload = mustJSON(body)
	}
	r := e.do("POST", "/auth/action/init", c.token, map[string]string{
		"userActionPayload": payload, "userActionHttpMethod": method, "userActionHttpPath": path, "userActionServerKind": "Api",
	})
	if r.status != 200 {
		return r
	}
	r = e.do("POST", "/auth/action", c.token, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": c.signer.assert(r.str("challenge"))})
	if r.status != 200 {
		return r
	}
	return e.do(method, path, c.token, payload, "X-DFNS-USERACTION", r.str("userAction"))
}
