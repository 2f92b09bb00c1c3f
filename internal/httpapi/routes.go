package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/health"
)

// routes is the route table: every endpoint signet serves, who may call it,
// whether its answer waits for the store's fence (every route that is not
// a GET does, but for those marked unfenced: they cannot change what
// Principal reads, TestUnfencedRoutesQuiet; logout and recovery change it),
// whether it must be user-action signed, the query parameters it accepts
// outside the signature, and the operation it needs (spec 5.0, 6).
// Enforcement reads this table only.
//
// unsignedQuery lists only what the official SDKs are known to send outside
// the signed path: every SDK method of @dfns/sdk 0.8.3 and 0.8.21 signs
// URL.pathname (utils/userActionFetch.js) and builds its query from
// request.query; the only signed (non-GET) methods on signet's routes that
// have a query are archiveServiceAccount (0.8.21) and deleteAssignment
// (both), each with force. Any other query on a signed route must have been
// signed, byte for byte (auth.SpendAction).
func (s *Server) routes() []route {
	return []route{
		{method: "GET", pattern: "/healthz", access: public, limit: limitOpen, h: s.healthz},
		{method: "GET", pattern: "/readyz", access: public, limit: limitOpen, h: s.readyz},
		{method: "GET", pattern: "/.well-known/jwks.json", access: public, limit: limitOpen, h: s.jwksHandler},
		{method: "GET", pattern: "/openapi.json", access: public, limit: limitOpen, h: s.openAPIHandler},

		{method: "POST", pattern: "/auth/registration/init", access: public, limit: limitPrework, unfenced: true, h: s.registrationInit},
		// Bearer = the temporary token, checked by the handler.
		{method: "POST", pattern: "/auth/registration", access: public, limit: limitOpen, h: s.registerUser},
		{method: "POST", pattern: "/auth/login/init", access: public, limit: limitPrework, unfenced: true, h: s.loginInit},
		{method: "POST", pattern: "/auth/login", access: public, limit: limitOpen, unfenced: true, h: s.login},
		// Mails a login code that unlocks PasswordProtectedKeys at login/init.
		{method: "POST", pattern: "/auth/login/code", access: public, limit: limitSend, unfenced: true, h: s.sendLoginCode},
		{method: "PUT", pattern: "/auth/logout", access: bearer, op: noOperation, unsigned: true, h: s.logout},
		// Delegated flows: service accounts only (checked by the domain),
		// user-action signed, each behind its operation (docs/surface.md).
		{method: "POST", pattern: "/auth/login/delegated", access: bearer, op: "Auth:Login:Delegated", h: s.delegatedLogin},
		{method: "POST", pattern: "/auth/registration/delegated", access: bearer, op: "Auth:Register:Delegated", h: s.delegatedRegistration},
		{method: "POST", pattern: "/auth/recover/user/delegated", access: bearer, op: "Auth:Recover:Delegated", h: s.delegatedRecovery},
		// Bearer = the temporary token of a delegated registration, checked
		// by the handler.
		{method: "POST", pattern: "/auth/registration/enduser", access: public, limit: limitOpen, h: s.registerEndUser},
		// Social login and SSO over OpenID Connect (oidc.go, docs/oidc.md).
		// Social registration may create a user: prework.
		{method: "POST", pattern: "/auth/registration/social", access: public, limit: limitPrework, h: s.socialRegistration},
		// Checking an ID token may fetch the provider's keys (an unknown kid):
		// the global cap of pre-credential work applies, as to registration.
		{method: "POST", pattern: "/auth/login/social", access: public, limit: limitPrework, h: s.socialLogin},
		{method: "POST", pattern: "/auth/login/sso/init", access: public, limit: limitOpen, unfenced: true, h: s.ssoLoginInit},
		{method: "POST", pattern: "/auth/login/sso", access: public, limit: limitOpen, h: s.ssoLogin},
		{method: "GET", pattern: "/auth/login/sso/providers", access: public, limit: limitOpen, h: s.ssoProviders},

		{method: "POST", pattern: "/auth/action/init", access: bearer, op: noOperation, unsigned: true, signer: true, unfenced: true, h: s.actionInit},
		{method: "POST", pattern: "/auth/action", access: bearer, op: noOperation, unsigned: true, signer: true, unfenced: true, h: s.actionComplete},
		// For services that receive signed requests themselves (middleware):
		// the body carries the user action to spend, so it is not signed again.
		{method: "POST", pattern: "/auth/action/verify", access: bearer, op: noOperation, unsigned: true, unfenced: true, h: s.verifyAction},
		{method: "GET", pattern: "/auth/action/logs", access: bearer, op: "Auth:Logs:Read", h: s.listAuditLogs},
		{method: "GET", pattern: "/auth/action/logs/{id}", access: bearer, op: "Auth:Logs:Read", h: s.getAuditLog},
		// What became of the caller's own user action (uj-… from POST
		// /auth/action): no operation, the domain scopes it to the caller's
		// identity. Not in Dfns' API; /auth/action/{init,verify,logs} are
		// more specific patterns and keep their routes (docs/faults.md).
		{method: "GET", pattern: "/auth/action/{id}", access: bearer, op: noOperation, h: s.getActionOutcome},

		{method: "PUT", pattern: "/auth/registration/code", access: public, limit: limitSend, unfenced: true, h: s.resendRegistrationCode},

		// Applications (deprecated upstream): signet keeps none, so the list
		// is empty and every id is 404 (auth.Application, docs/surface.md).
		{method: "GET", pattern: "/auth/apps", access: bearer, op: "Auth:Apps:Read", h: s.listApplications},
		{method: "GET", pattern: "/auth/apps/{appId}", access: bearer, op: "Auth:Apps:Read", h: s.getApplication},

		{method: "GET", pattern: "/auth/users", access: bearer, op: "Auth:Users:Read", h: s.listUsers},
		{method: "POST", pattern: "/auth/users", access: bearer, op: "Auth:Users:Create", h: s.createUser},
		{method: "GET", pattern: "/auth/users/{userId}", access: bearer, op: "Auth:Users:Read", h: s.getUser},
		{method: "PUT", pattern: "/auth/users/{userId}", access: bearer, op: "Auth:Users:Update", h: s.updateUser},
		{method: "PUT", pattern: "/auth/users/{userId}/activate", access: bearer, op: "Auth:Users:Activate", h: s.activateUser},
		{method: "PUT", pattern: "/auth/users/{userId}/deactivate", access: bearer, op: "Auth:Users:Deactivate", h: s.deactivateUser},
		{method: "DELETE", pattern: "/auth/users/{userId}", access: bearer, op: "Auth:Users:Delete", h: s.archiveUser},

		// A user's own PATs: managing them needs no operation beyond
		// creating one; the domain scopes every call to the caller's user.
		{method: "POST", pattern: "/auth/pats", access: bearer, op: "Auth:Pats:Create", h: s.createPAT},
		{method: "GET", pattern: "/auth/pats", access: bearer, op: noOperation, h: s.listPATs},
		{method: "GET", pattern: "/auth/pats/{tokenId}", access: bearer, op: noOperation, h: s.getPAT},
		{method: "PUT", pattern: "/auth/pats/{tokenId}", access: bearer, op: noOperation, h: s.updatePAT},
		{method: "PUT", pattern: "/auth/pats/{tokenId}/activate", access: bearer, op: noOperation, h: s.activatePAT},
		{method: "PUT", pattern: "/auth/pats/{tokenId}/deactivate", access: bearer, op: noOperation, h: s.deactivatePAT},
		{method: "DELETE", pattern: "/auth/pats/{tokenId}", access: bearer, op: noOperation, h: s.archivePAT},

		{method: "POST", pattern: "/auth/service-accounts", access: bearer, op: "Auth:ServiceAccounts:Create", h: s.createServiceAccount},
		{method: "GET", pattern: "/auth/service-accounts", access: bearer, op: "Auth:ServiceAccounts:Read", h: s.listServiceAccounts},
		{method: "GET", pattern: "/auth/service-accounts/{serviceAccountId}", access: bearer, op: "Auth:ServiceAccounts:Read", h: s.getServiceAccount},
		{method: "PUT", pattern: "/auth/service-accounts/{serviceAccountId}", access: bearer, op: "Auth:ServiceAccounts:Update", h: s.updateServiceAccount},
		{method: "PUT", pattern: "/auth/service-accounts/{serviceAccountId}/activate", access: bearer, op: "Auth:ServiceAccounts:Activate", h: s.activateServiceAccount},
		{method: "PUT", pattern: "/auth/service-accounts/{serviceAccountId}/deactivate", access: bearer, op: "Auth:ServiceAccounts:Deactivate", h: s.deactivateServiceAccount},
		// @dfns/sdk 0.8.21 archiveServiceAccount sends ?force=… outside the
		// signed path (it signs URL.pathname only).
		{method: "DELETE", pattern: "/auth/service-accounts/{serviceAccountId}", access: bearer, op: "Auth:ServiceAccounts:Delete", unsignedQuery: []string{"force"}, h: s.archiveServiceAccount},

		{method: "POST", pattern: "/permissions", access: bearer, op: "Permissions:Create", h: s.createPermission},
		{method: "GET", pattern: "/permissions", access: bearer, op: "Permissions:Read", h: s.listPermissions},
		{method: "GET", pattern: "/permissions/{permissionId}", access: bearer, op: "Permissions:Read", h: s.getPermission},
		{method: "PUT", pattern: "/permissions/{permissionId}", access: bearer, op: "Permissions:Update", h: s.updatePermission},
		{method: "PUT", pattern: "/permissions/{permissionId}/archive", access: bearer, op: "Permissions:Archive", h: s.archivePermission},
		{method: "POST", pattern: "/permissions/{permissionId}/assignments", access: bearer, op: "Permissions:Assign", h: s.createAssignment},
		{method: "GET", pattern: "/permissions/{permissionId}/assignments", access: bearer, op: "Permissions:Assignments:Read", h: s.listAssignments},
		// @dfns/sdk 0.8.3 and 0.8.21 deleteAssignment: ?force=…, likewise.
		{method: "DELETE", pattern: "/permissions/{permissionId}/assignments/{assignmentId}", access: bearer, op: "Permissions:Revoke", unsignedQuery: []string{"force"}, h: s.deleteAssignment},

		// Policies and approvals (docs/policies.md). A request a policy
		// holds answers 202 with its change request (serve).
		{method: "POST", pattern: "/v2/policies", access: bearer, op: "Policies:Create", h: s.createPolicy},
		{method: "GET", pattern: "/v2/policies", access: bearer, op: "Policies:Read", h: s.listPolicies},
		{method: "GET", pattern: "/v2/policies/{policyId}", access: bearer, op: "Policies:Read", h: s.getPolicy},
		{method: "PUT", pattern: "/v2/policies/{policyId}", access: bearer, op: "Policies:Update", h: s.updatePolicy},
		{method: "DELETE", pattern: "/v2/policies/{policyId}", access: bearer, op: "Policies:Archive", h: s.archivePolicy},
		{method: "GET", pattern: "/v2/policy-approvals", access: bearer, op: "Policies:Approvals:Read", h: s.listApprovals},
		{method: "GET", pattern: "/v2/policy-approvals/{approvalId}", access: bearer, op: "Policies:Approvals:Read", h: s.getApproval},
		{method: "POST", pattern: "/v2/policy-approvals/{approvalId}/decisions", access: bearer, op: "Policies:Approvals:Approve", h: s.createDecision},

		{method: "GET", pattern: "/auth/credentials", access: bearer, op: noOperation, h: s.listCredentials},
		{method: "POST", pattern: "/auth/credentials/init", access: bearer, op: noOperation, unsigned: true, unfenced: true, h: s.credentialInit},
		{method: "POST", pattern: "/auth/credentials", access: bearer, op: noOperation, h: s.createCredential},
		{method: "PUT", pattern: "/auth/credentials/activate", access: bearer, op: noOperation, h: s.activateCredential},
		{method: "PUT", pattern: "/auth/credentials/deactivate", access: bearer, op: noOperation, h: s.deactivateCredential},
		// Credential codes: made by a user's own session (signed), spent
		// without one (the code is the authorisation, spec 5.4).
		{method: "POST", pattern: "/auth/credentials/code", access: bearer, op: noOperation, h: s.createCredentialCode},
		{method: "POST", pattern: "/auth/credentials/code/init", access: public, limit: limitPrework, unfenced: true, h: s.credentialCodeInit},
		{method: "POST", pattern: "/auth/credentials/code/verify", access: public, limit: limitOpen, h: s.credentialCodeVerify},

		// Recovery (spec 5.3). Bearer of /auth/recover/user = the temporary
		// token of recover/user/init, checked by the handler.
		{method: "POST", pattern: "/auth/recover/user/code", access: public, limit: limitSend, unfenced: true, h: s.sendRecoveryCode},
		{method: "POST", pattern: "/auth/recover/user/init", access: public, limit: limitPrework, unfenced: true, h: s.recoveryInit},
		{method: "POST", pattern: "/auth/recover/user", access: public, limit: limitOpen, h: s.recoverUser},
	}
}

// healthz is liveness: the process serves HTTP. It touches no dependency,
// so it answers at once whatever the database does; a replica that cannot
// serve requests is told apart by readyz (README: which one to probe).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *call) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz is readiness: 200 when this replica can serve requests (the
// database takes a write, no migration is pending, the signing key signs),
// 503 with the failing checks otherwise. The checks run at most once a
// second and within a short bound (internal/health).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *call) error {
	var rep health.Report
	if s.ready != nil {
		rep = s.ready.Check(r.Context())
	} else {
		rep = health.Report{Status: "ready", Checks: map[string]string{"database": "ok"}}
		if err := s.ping(r.Context()); err != nil {
			s.log.WarnContext(r.Context(), "readiness check failed", "check", "database", "err", err)
			rep = health.Report{Status: "unready", Checks: map[string]string{"database": "failing"}}
		}
	}
	if !rep.Ready() {
		w.Header().Set("Retry-After", RetryAfter)
		writeJSON(w, http.StatusServiceUnavailable, rep)
		return nil
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) jwksHandler(w http.ResponseWriter, r *http.Request, _ *call) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.jwks())
	return nil
}
