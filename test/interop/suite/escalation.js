'use strict';
// Escalation prevention through the official SDK (issue 9, docs/authorization.md): the three ways
// in that were reproduced against signet, each refused with a 403 naming the missing operations
// and nothing written, plus no lockout from below:
//   - a user holding Permissions:Create, Permissions:Assign and Auth:ServiceAccounts:Create makes a
//     service account that tries to assign ManagedFullAdminAccess back to the user;
//   - a user holding Permissions:Update widens its own permission;
//   - a PAT restricted by permissionId widens its restriction (with an operation its user holds);
//   - a user holding Auth:Users:Deactivate deactivates the org's admin.
// Every call is a DfnsApiClient / DfnsAuthenticator method; the SDK does all the signing.
//
// Called by interop.js after the audit steps (so it adds nothing they count) and before logout.

const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');

module.exports = function defineEscalationSteps(ctx) {
  const { step, s, server, sdk, expectDfnsError, sinceMark, keys } = ctx;
  const { DfnsApiClient, DfnsAuthenticator, AsymmetricKeySigner, BrowserKeySigner } = sdk;

  const suffix = nodeCrypto.randomBytes(3).toString('hex');
  const clientFor = (authToken, signer) => new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken, signer });
  const refusal = 'needs operations the caller does not hold';

  // The SDK call must fail with 403, and the server's answer must name every operation in lacking.
  async function expectRefused(promise, what, mark, lacking) {
    const err = await expectDfnsError(promise, what);
    assert.equal(err.httpStatus, 403, `${what}: expected 403, got ${err.httpStatus}: ${err.message}`);
    const x = sinceMark(mark).filter((e) => e.status === 403).pop();
    assert.ok(x, `${what}: no 403 exchange recorded`);
    const msg = JSON.parse(x.resBody).error.message;
    assert.ok(msg.includes(refusal), `${what}: not the escalation refusal: ${msg}`);
    for (const op of lacking) {
      assert.ok(msg.includes(op), `${what}: the refusal does not name ${op}: ${msg}`);
    }
  }

  step('escalation: an ordinary member registers and logs in; the org admin\'s ManagedFullAdminAccess is found', ['client'], async () => {
    const email = `escalation-${suffix}@interop.test`;
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
    const admin = await s.client.auth.getUser({ userId: s.userId });
    const full = admin.permissionAssignments.find((a) => a.permissionName === 'ManagedFullAdminAccess');
    assert.ok(full, `admin's assignments: ${JSON.stringify(admin.permissionAssignments)}`);
    s.esc = { userId: u.userId, client: clientFor(token, signer), adminPermissionId: full.permissionId };
  });

  const grant = async (name, operations) => {
    const p = await s.client.permissions.createPermission({ body: { name: `esc-${name}-${suffix}`, operations } });
    await s.client.permissions.createAssignment({ permissionId: p.id, body: { identityId: s.esc.userId } });
    return p;
  };
  const assignedIds = async () => (await s.client.auth.getUser({ userId: s.esc.userId })).permissionAssignments.map((a) => a.permissionId).sort();

  step('escalation through a service account: it cannot assign ManagedFullAdminAccess to its creator (403)', ['esc'], async (t, mark) => {
    await grant('sa-path', ['Permissions:Create', 'Permissions:Assign', 'Auth:ServiceAccounts:Create']);
    const before = await assignedIds();
    // What the member holds it may pass on.
    const assign = await s.esc.client.permissions.createPermission({ body: { name: `esc-assign-${suffix}`, operations: ['Permissions:Assign'] } });
    const key = keys.generateEd25519();
    const created = await s.esc.client.auth.createServiceAccount({ body: { name: `esc-sa-${suffix}`, publicKey: key.publicKeyPem, permissionId: assign.id } });
    const [tok] = created.accessTokens;
    const saClient = clientFor(tok.accessToken, new AsymmetricKeySigner({ credId: tok.credId, privateKey: key.privateKeyPem }));
    await expectRefused(
      saClient.permissions.createAssignment({ permissionId: s.esc.adminPermissionId, body: { identityId: s.esc.userId } }),
      'service account assigns ManagedFullAdminAccess to its creator',
      mark,
      ['Auth:Users:Deactivate', 'Permissions:Update'],
    );
    await expectRefused(
      s.esc.client.permissions.createPermission({ body: { name: `esc-wide-${suffix}`, operations: ['Permissions:Assign', 'Auth:Users:Deactivate'] } }),
      'member creates a permission wider than itself',
      mark,
      ['Auth:Users:Deactivate'],
    );
    assert.deepEqual(await assignedIds(), before, 'the member gained nothing');
    const admin = await s.client.auth.getUser({ userId: s.userId });
    assert.equal(admin.isActive, true);
  });

  step('escalation by widening a held permission: updatePermission adding an operation the caller lacks (403)', ['esc'], async (t, mark) => {
    const held = await grant('update-path', ['Permissions:Update', 'Permissions:Read']);
    await expectRefused(
      s.esc.client.permissions.updatePermission({ permissionId: held.id, body: { operations: ['Permissions:Update', 'Permissions:Read', 'Auth:Users:Deactivate'] } }),
      'member widens its own permission',
      mark,
      ['Auth:Users:Deactivate'],
    );
    const got = await s.client.permissions.getPermission({ permissionId: held.id });
    assert.deepEqual([...got.operations].sort(), ['Permissions:Read', 'Permissions:Update'], 'the permission is unchanged');
    s.escHeld = held;
  });

  step('escalation by a restricted PAT widening its restriction, even with an operation its user holds (403)', ['escHeld'], async (t, mark) => {
    await grant('pat-path', ['Auth:Pats:Create', 'Auth:Users:Read']);
    const key = keys.generateP256();
    const pat = await s.esc.client.auth.createPersonalAccessToken({ body: { name: `esc-pat-${suffix}`, publicKey: key.publicKeyPem, permissionId: s.escHeld.id } });
    const patClient = clientFor(pat.accessToken, new AsymmetricKeySigner({ credId: pat.credId, privateKey: key.privateKeyPem }));
    for (const op of ['Auth:Users:Read', 'Auth:Users:Deactivate']) {
      await expectRefused(
        patClient.permissions.updatePermission({ permissionId: s.escHeld.id, body: { operations: ['Permissions:Update', 'Permissions:Read', op] } }),
        `PAT adds ${op} to its restriction`,
        mark,
        [op],
      );
    }
    const err = await expectDfnsError(patClient.auth.getUser({ userId: s.esc.userId }), 'PAT reads a user outside its restriction');
    assert.equal(err.httpStatus, 403);
  });

  step('no lockout from below: a member holding Auth:Users:Deactivate cannot deactivate the admin (403)', ['esc'], async (t, mark) => {
    await grant('deactivate', ['Auth:Users:Deactivate', 'Auth:Users:Delete']);
    await expectRefused(s.esc.client.auth.deactivateUser({ userId: s.userId }), 'member deactivates the admin', mark, ['Orgs:Update']);
    await expectRefused(s.esc.client.auth.archiveUser({ userId: s.userId }), 'member archives the admin', mark, ['Orgs:Update']);
    const admin = await s.client.auth.getUser({ userId: s.userId });
    assert.equal(admin.isActive, true);
  });
};
