package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-openapi/jsonpointer"

	"github.com/signet-auth/signet/internal/lru"
	"github.com/signet-auth/signet/internal/strictjson"
)

// Policies over the operations of the gateway's route file (issue 15, item
// 3; docs/policies.md "Gateway mode"). An operator's operation (such as
// Payments:Create) is an activity kind: a policy over it gates every
// request of a route that names the operation, after the gateway
// authenticated it, spent its user action and authorized it, and before it
// is forwarded. A held request is stored exactly as signed and forwarded
// once, by the replica that resolves its approval, through the Forwarder
// the gateway registers.

// RuleJSONFieldThreshold triggers when a number in the signed request body,
// found by a JSON Pointer (RFC 6901), is above a threshold. A body the rule
// cannot evaluate (not JSON, no such field, not a number there) triggers it
// too: a request is never let through because its policy could not read it.
const RuleJSONFieldThreshold = "JsonFieldThreshold"

// RuleConfiguration configures a rule: empty for AlwaysTrigger; Pointer and
// Above for JsonFieldThreshold.
type RuleConfiguration struct {
	Pointer string   `json:"pointer,omitempty"`
	Above   *float64 `json:"above,omitempty"`
}

// opForward is the pending operation of a held gateway request.
const opForward = "forward"

// HeldRequest is a gateway request as it was signed, held until its
// approval is resolved: it is forwarded to the upstream exactly as it
// came (the gateway's identity headers are added then, as on any forward).
type HeldRequest struct {
	Method string `json:"method"`
	// Target is the escaped path and, if any, "?" and the raw query.
	Target string `json:"target"`
	// Header holds the headers the gateway forwards (not the caller's
	// credentials, hop-by-hop or X-Signet-* headers).
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body,omitempty"`
	// ActionID is the user action the request spent ("" when unsigned).
	ActionID string `json:"actionId,omitempty"`
	// RequestID is the gateway's X-Request-Id of the held request.
	RequestID string `json:"requestId,omitempty"`
}

// Forwarder sends a held request to the upstream as p (the initiator, as
// now) and returns the upstream's status code. An error means no answer
// came (the upstream may or may not have acted on the request). The
// gateway registers one (SetForwarder).
type Forwarder func(ctx context.Context, p *Principal, req *HeldRequest) (int, error)

type forwarder struct {
	f       Forwarder
	timeout time.Duration
}

// SetForwarder registers the gateway's Forwarder and its upstream timeout:
// approvals of held gateway requests are forwarded through it. The lease of
// an approval being run (FinishInterrupted) is at least the timeout plus a
// minute, so that a forward still waiting for its upstream is never taken
// for an interrupted one.
func (s *Service) SetForwarder(f Forwarder, timeout time.Duration) {
	s.fwd.Store(&forwarder{f: f, timeout: timeout})
}

// gatewayState is the part of a Service that serves gateway policies.
type gatewayState struct {
	kinds    map[string]bool // the route file's operations a policy may gate
	policies *lru.Cache[policiesKey, []*Policy]
	fwd      atomic.Pointer[forwarder]
}

// policiesKey names an org's active policies of one gateway operation at
// one authorization version: every policy write bumps the version
// (migration 0015), so an entry is never stale.
type policiesKey struct {
	org, kind string
	version   int64
}

func newGatewayState(extra []string) gatewayState {
	kinds := map[string]bool{}
	for _, op := range extra {
		if _, own := activityOps[op]; !own && !slices.Contains(operations, op) {
			kinds[op] = true
		}
	}
	return gatewayState{kinds: kinds, policies: lru.New[policiesKey, []*Policy](OperationsCacheSize)}
}

// IsGatewayKind reports whether kind is an operation of the route file a
// policy may gate.
func (s *Service) IsGatewayKind(kind string) bool { return s.kinds[kind] }

// checkRule validates a policy's rule for its activity kind.
func (s *Service) checkRule(kind string, r *PolicyRule) error {
	if r == nil {
		return Errorf(Invalid, "rule is required")
	}
	switch r.Kind {
	case RuleAlwaysTrigger:
		if c := r.Configuration; c != nil && (c.Pointer != "" || c.Above != nil) {
			return Errorf(Invalid, "rule AlwaysTrigger takes no configuration")
		}
		return nil
	case RuleJSONFieldThreshold:
		if !s.kinds[kind] {
			break
		}
		c := r.Configuration
		if c == nil || c.Above == nil {
			return Errorf(Invalid, "rule JsonFieldThreshold needs configuration.pointer and configuration.above")
		}
		if math.IsNaN(*c.Above) || math.IsInf(*c.Above, 0) {
			return Errorf(Invalid, "configuration.above must be a finite number")
		}
		return checkPointer(c.Pointer)
	}
	if s.kinds[kind] {
		return Errorf(Invalid, "rule.kind must be AlwaysTrigger or JsonFieldThreshold")
	}
	return Errorf(Invalid, "rule.kind must be AlwaysTrigger")
}

// checkPointer validates a JSON Pointer (RFC 6901): "/" then reference
// tokens separated by "/", in which "~" is only ever "~0" or "~1". The
// whole document ("") is refused: the body is an object or array.
func checkPointer(ptr string) error {
	if ptr == "" || ptr[0] != '/' || len(ptr) > 256 {
		return Errorf(Invalid, "configuration.pointer must be a JSON Pointer (RFC 6901) of 2 to 256 characters starting with /")
	}
	for i := 0; i < len(ptr); i++ {
		if ptr[i] == '~' && (i+1 == len(ptr) || (ptr[i+1] != '0' && ptr[i+1] != '1')) {
			return Errorf(Invalid, "configuration.pointer: ~ must be followed by 0 or 1 (RFC 6901)")
		}
	}
	if _, err := jsonpointer.New(ptr); err != nil {
		return Errorf(Invalid, "configuration.pointer is not a JSON Pointer")
	}
	return nil
}

// triggers reports whether the policy's rule triggers on a request body.
func (pol *Policy) triggers(body []byte) bool {
	if pol.Rule.Kind != RuleJSONFieldThreshold {
		return true
	}
	c := pol.Rule.Configuration
	if c == nil || c.Above == nil {
		return true
	}
	above, ok := fieldAbove(body, c.Pointer, *c.Above)
	return above || !ok
}

// maxNumberLen bounds the number literals compared exactly: a longer one
// cannot be evaluated (and so triggers its rule).
const maxNumberLen = 64

// fieldAbove reports whether the number at ptr in the JSON document body is
// above threshold; ok is false when that cannot be told: body is not one
// JSON value, ptr does not resolve in it, or the value there is not a
// number. A body that two JSON readers could read differently (duplicate
// keys, keys differing only in letter case, invalid UTF-8, lone surrogates:
// strictjson.Check) cannot be told either: encoding/json keeps the last of
// two "amount" keys, an upstream parser may keep the first, and a Go
// upstream fills its Amount field from "Amount" as well as "amount", so
// evaluating such a body would let a large amount pass as a small one.
func fieldAbove(body []byte, ptr string, threshold float64) (above, ok bool) {
	if strictjson.Check(body) != nil {
		return false, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return false, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return false, false // trailing data
	}
	p, err := jsonpointer.New(ptr)
	if err != nil {
		return false, false
	}
	v, _, err := p.Get(doc)
	if err != nil {
		return false, false
	}
	n, isNum := v.(json.Number)
	if !isNum || len(n) > maxNumberLen {
		return false, false
	}
	return numberAbove(string(n), threshold)
}

// numberAbove compares a JSON number literal with a threshold exactly: as
// float64 first (rounding is monotonic, so a difference there is the
// answer); when the literal rounds to the threshold itself, as rationals.
func numberAbove(lit string, threshold float64) (above, ok bool) {
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return false, false
	}
	if f != threshold {
		return f > threshold, true
	}
	x, okx := new(big.Rat).SetString(lit)
	t := new(big.Rat)
	if !okx || t.SetFloat64(threshold) == nil {
		return false, false
	}
	return x.Cmp(t) > 0, true
}

// gatewayPolicies returns the org's active policies of a gateway operation:
// one cache lookup under the org's authorization version, read with the
// token; a store read on a miss, or for a principal whose version is not
// known.
func (s *Service) gatewayPolicies(ctx context.Context, p *Principal, kind string) ([]*Policy, error) {
	k := policiesKey{org: p.OrgID, kind: kind, version: p.authzVersion}
	if p.authzKnown {
		if pols, ok := s.policies.Get(k); ok {
			return pols, nil
		}
	}
	pols, err := s.store.ActivePolicies(ctx, p.OrgID, kind)
	if err != nil {
		return nil, internalErr(err)
	}
	if p.authzKnown {
		s.policies.Put(k, pols)
	}
	return pols, nil
}

// GateRequest applies the org's active policies of a gateway operation to a
// request the gateway has authenticated, authorized and (if signed) whose
// user action it spent, before forwarding it: nil forwards it; a Block
// policy that triggers refuses it (Forbidden); triggered RequestApproval
// policies hold it as an approval (PendingError) and nothing reaches the
// upstream until it is approved. held builds the request to hold (called
// only then); an unsigned request (signed false) cannot be held: one a
// RequestApproval policy triggers on is refused. An org without policies
// over the operation costs one cache lookup and builds nothing.
func (s *Service) GateRequest(ctx context.Context, p *Principal, kind string, body []byte, signed bool, held func() *HeldRequest) error {
	if !s.kinds[kind] {
		return nil
	}
	pols, err := s.gatewayPolicies(ctx, p, kind)
	if err != nil || len(pols) == 0 {
		return err
	}
	var h holding
	for _, pol := range pols {
		if pol.Action.Kind == ActionNoAction || !pol.triggers(body) {
			continue
		}
		switch pol.Action.Kind {
		case ActionBlock:
			s.log.InfoContext(ctx, "activity blocked by policy", "org", p.OrgID, "policy", pol.ID, "activity", kind, "by", p.UserID)
			return Errorf(Forbidden, "%s is blocked by policy %s", kind, pol.ID)
		case ActionRequestApproval:
			h.add(pol)
		}
	}
	if len(h.groups) == 0 {
		return nil
	}
	if !signed {
		return Errorf(Forbidden, "policy %s requires approval of %s: only a signed request can be held for approval", h.ids[0], kind)
	}
	req := held()
	shown := map[string]any{"method": req.Method, "target": req.Target}
	if len(req.Body) > 0 && json.Valid(req.Body) {
		shown["body"] = json.RawMessage(req.Body)
	}
	act := &pendingActivity{kind: kind, op: PendingOp{Op: opForward, Operation: kind, Request: req},
		change: ChangeRequest{EntityID: req.ActionID, Kind: "Request", OperationKind: kind, Body: mustJSON(shown)}}
	return s.hold(ctx, p, act, &h)
}

// forward sends a held request, approved, through the gateway's Forwarder.
func (s *Service) forward(ctx context.Context, p *Principal, op *PendingOp) (ApprovalResult, error) {
	fw := s.fwd.Load()
	if fw == nil || op.Request == nil {
		return ApprovalResult{}, Errorf(Unavailable, "no gateway is running to forward the request")
	}
	// The forward is not tied to the decider's request: a decider who
	// hangs up must not cut a forward the upstream may already be acting
	// on (the gateway bounds it with its upstream timeout).
	status, err := fw.f(context.WithoutCancel(ctx), p, op.Request)
	if err != nil {
		s.log.WarnContext(ctx, "forwarding an approved request failed", "org", p.OrgID, "operation", op.Operation, "err", err)
		return ApprovalResult{}, Errorf(Unavailable, "the upstream did not answer; the request is not sent again")
	}
	r := ApprovalResult{Outcome: OutcomeApplied, UpstreamStatus: status}
	if status < 200 || status > 299 {
		r.Outcome, r.Reason = OutcomeFailed, "the upstream answered "+strconv.Itoa(status)
	}
	return r, nil
}

// DefaultApprovalLease is how long an approval resolved Approved may go
// without an outcome before the maintenance loop takes its run for
// interrupted (FinishInterrupted).
const DefaultApprovalLease = time.Minute

// ReasonInterrupted is the reason of a held gateway request whose forward
// was interrupted: it may or may not have reached the upstream.
const ReasonInterrupted = "interrupted, outcome unknown: the request is not forwarded again"

// lease is how long an approved activity may run before it is taken for
// interrupted.
func (s *Service) lease() time.Duration {
	l := DefaultApprovalLease
	if fw := s.fwd.Load(); fw != nil && fw.timeout+time.Minute > l {
		l = fw.timeout + time.Minute
	}
	return l
}

// FinishInterrupted finishes the approvals resolved Approved whose run was
// interrupted (the replica that resolved them stopped before it recorded an
// outcome) and returns how many it finished. Each is claimed with a
// conditional write, so one replica finishes it. An operation of the auth
// domain runs again: it is idempotent (an assignment's id was chosen when
// it was held; updates and archives set values). A held gateway request is
// not forwarded again, since forwarding is not idempotent and it may have
// reached the upstream: it is recorded Failed (ReasonInterrupted). The
// server's maintenance loop calls it every minute.
func (s *Service) FinishInterrupted(ctx context.Context) (int, error) {
	n := 0
	for {
		now := s.clock()
		before := now.Add(-s.lease())
		list, err := s.store.UnfinishedApprovals(ctx, before, 100)
		if err != nil {
			return n, err
		}
		done := n
		for _, a := range list {
			switch err := s.store.ClaimUnfinishedApproval(ctx, a.OrgID, a.ID, before, now); {
			case errors.Is(err, ErrUsed), errors.Is(err, ErrNotFound):
				continue
			case err != nil:
				return n, err
			}
			s.log.WarnContext(ctx, "finishing an interrupted approval", "org", a.OrgID, "approval", a.ID, "activity", a.Data.ActivityKind)
			if a.Data.Operation.Op == opForward {
				s.record(ctx, a, ApprovalResult{Outcome: OutcomeFailed, Reason: ReasonInterrupted})
			} else {
				s.run(ctx, a, true)
			}
			n++
		}
		if len(list) < 100 || n == done {
			return n, nil
		}
	}
}

// triggerReason says why a policy with rule r triggered, as an approval's
// policyEvaluations show it: the rule's kind, and for a threshold its
// pointer and bound (a body it could not read triggers it too).
func (r PolicyRule) triggerReason() string {
	if r.Kind == RuleJSONFieldThreshold && r.Configuration != nil && r.Configuration.Above != nil {
		return fmt.Sprintf("%s: %s above %s (or not readable as a number)", r.Kind, r.Configuration.Pointer,
			strconv.FormatFloat(*r.Configuration.Above, 'f', -1, 64))
	}
	return r.Kind
}
