'use strict';
// Policies and approvals through the official SDK (issue 15, docs/policies.md):
//   - a 2-of-3 RequestApproval policy on Permissions:Assign (filtered to two permissions made here);
//   - an assignment then throws PolicyPendingError (HTTP 202) carrying the change request and its
//     approvalId, and is not made;
//   - two of the three approvers approve through api.policies.createApprovalDecision; the
//     assignment then exists exactly once, with the id the change request showed;
//   - a second assignment is denied by one approver: it never exists;
//   - the policy is archived at the end, so later steps are not held.
// Every call is a DfnsApiClient / DfnsAuthenticator method; the SDK does all the signing.
//
// Called by interop.js after the surface steps and before logout.

const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');

module.exports = function definePolicySteps(ctx) {
  const { step, s, server, sdk, expectDfnsError, keys } = ctx;
  const { DfnsApiClient, DfnsAuthenticator, AsymmetricKeySigner, BrowserKeySigner, PolicyPendingError } = sdk;

  const suffix = nodeCrypto.randomBytes(3).toString('hex');
  const clientFor = (authToken, signer) => new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken, signer });

  // A registered, logged-in member of the org, holding operations through a permission of its own.
  async function member(name, operations) {
    const email = `policy-${name}-${suffix}@interop.test`;
    const u = await s.client.auth.createUser({ body: { email, kind: 'CustomerEmployee' } });
    const invite = await server.inviteUser({ orgId: s.orgId, username: email });
    const keyPair = await keys.generateBrowserP256KeyPair();
    const signerOptions = { keyPair };
    await new DfnsAuthenticator({ baseUrl: server.baseUrl, orgId: s.orgId, signer: new BrowserKeySigner(signerOptions) }).register({
      orgId: s.orgId,
      username: email,
      registrationCode: invite.registrationCode,
    });
    const signer = new AsymmetricKeySigner({ credId: signerOptions.credId, privateKey: keys.cryptoKeyToPkcs8Pem(keyPair.privateKey) });
    const { token } = await new DfnsAuthenticator({ baseUrl: server.baseUrl, orgId: s.orgId, signer }).login({ orgId: s.orgId, username: email });
    if (operations.length) {
      const p = await s.client.permissions.createPermission({ body: { name: `policy-${name}-${suffix}`, operations } });
      await s.client.permissions.createAssignment({ permissionId: p.id, body: { identityId: u.userId } });
    }
    return { userId: u.userId, client: clientFor(token, signer) };
  }

  async function expectPending(promise, what) {
    const err = await expectDfnsError(promise, what);
    assert.equal(err.httpStatus, 202, `${what}: expected 202, got ${err.httpStatus}: ${err.message}`);
    assert.ok(err instanceof PolicyPendingError, `${what}: expected PolicyPendingError, got ${err.name}`);
    const cr = err.context;
    assert.equal(cr.status, 'Pending', `${what}: ${JSON.stringify(cr)}`);
    assert.equal(cr.kind, 'Assignment');
    assert.equal(cr.operationKind, 'Create');
    assert.match(cr.approvalId, /^ap-/);
    return cr;
  }

  const holds = async (permissionId, identityId) =>
    (await s.client.permissions.listAssignments({ permissionId })).items.filter((a) => a.identityId === identityId);

  step('policies: three approvers, a target and two permissions; a 2-of-3 policy on Permissions:Assign', ['client'], async () => {
    const ops = ['Policies:Approvals:Read', 'Policies:Approvals:Approve'];
    const approvers = [];
    for (const n of ['a', 'b', 'c']) approvers.push(await member(n, ops));
    const target = await member('target', []);
    const pm = await s.client.permissions.createPermission({ body: { name: `policy-readers-${suffix}`, operations: ['Orgs:Read'] } });
    const pm2 = await s.client.permissions.createPermission({ body: { name: `policy-readers2-${suffix}`, operations: ['Orgs:Read'] } });
    const policy = await s.client.policies.createPolicy({
      body: {
        name: `two of three ${suffix}`,
        activityKind: 'Permissions:Assign',
        rule: { kind: 'AlwaysTrigger' },
        action: {
          kind: 'RequestApproval',
          approvalGroups: [{ name: 'admins', quorum: 2, approvers: { userId: { in: approvers.map((a) => a.userId) } } }],
        },
        filters: { permissionId: { in: [pm.id, pm2.id] } },
      },
    });
    assert.equal(policy.status, 'Active');
    assert.equal(policy.activityKind, 'Permissions:Assign');
    const got = await s.client.policies.getPolicy({ policyId: policy.id });
    assert.deepEqual(got.action.approvalGroups[0].approvers.userId.in, approvers.map((a) => a.userId));
    s.pol = { approvers, target, pm: pm.id, pm2: pm2.id, policyId: policy.id };
  });

  step('policies: the assignment throws PolicyPendingError; two approvals make it exist exactly once', ['pol'], async () => {
    const { approvers, target, pm } = s.pol;
    const cr = await expectPending(s.client.permissions.createAssignment({ permissionId: pm, body: { identityId: target.userId } }), 'held assignment');
    assert.equal((await holds(pm, target.userId)).length, 0, 'the held assignment exists before approval');

    const first = await approvers[0].client.policies.createApprovalDecision({ approvalId: cr.approvalId, body: { value: 'Approved', reason: 'ok' } });
    assert.equal(first.status, 'Pending');
    assert.equal((await holds(pm, target.userId)).length, 0, 'the assignment exists after one of two approvals');
    // The same approver cannot count twice.
    const again = await expectDfnsError(
      approvers[0].client.policies.createApprovalDecision({ approvalId: cr.approvalId, body: { value: 'Approved' } }),
      'second decision by the same approver',
    );
    assert.equal(again.httpStatus, 409);

    const second = await approvers[1].client.policies.createApprovalDecision({ approvalId: cr.approvalId, body: { value: 'Approved' } });
    assert.equal(second.status, 'Approved');
    assert.equal(second.decisions.length, 2);
    const made = await holds(pm, target.userId);
    assert.equal(made.length, 1, `assignments: ${JSON.stringify(made)}`);
    assert.equal(made[0].id, cr.entityId, 'the assignment has the id its change request showed');

    const approval = await s.client.policies.getApproval({ approvalId: cr.approvalId });
    assert.equal(approval.status, 'Approved');
    assert.equal(approval.activity.kind, 'Permissions:Assign');
    assert.equal(approval.activity.changeRequest.status, 'Applied');
    const late = await expectDfnsError(
      approvers[2].client.policies.createApprovalDecision({ approvalId: cr.approvalId, body: { value: 'Approved' } }),
      'decision after resolution',
    );
    assert.equal(late.httpStatus, 409);
  });

  step('policies: a denial aborts the held assignment', ['pol'], async () => {
    const { approvers, target, pm2 } = s.pol;
    const cr = await expectPending(s.client.permissions.createAssignment({ permissionId: pm2, body: { identityId: target.userId } }), 'held assignment');
    const denied = await approvers[2].client.policies.createApprovalDecision({ approvalId: cr.approvalId, body: { value: 'Denied', reason: 'no' } });
    assert.equal(denied.status, 'Denied');
    assert.equal(denied.activity.changeRequest.status, 'Rejected');
    assert.equal((await holds(pm2, target.userId)).length, 0, 'a denied assignment exists');
    const list = await s.client.policies.listApprovals({ query: { status: 'Denied' } });
    assert.ok(list.items.some((a) => a.id === cr.approvalId), 'the denied approval is listed');
  });

  step('policies: the policy is archived, and assignments are no longer held', ['pol'], async () => {
    const { target, pm2, policyId } = s.pol;
    const archived = await s.client.policies.archivePolicy({ policyId });
    assert.equal(archived.status, 'Archived');
    const a = await s.client.permissions.createAssignment({ permissionId: pm2, body: { identityId: target.userId } });
    assert.match(a.id, /^as-/);
  });
};
