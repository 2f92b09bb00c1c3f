'use strict';
// Long-lived identities through the official SDK (spec 5.5-5.7, 6, 10.1, 12.6-12.9):
//   PAT (P-256 key, AsymmetricKeySigner with the server-generated credId) → its own signed calls →
//   deactivate / activate / archive → 401 when off; PAT restricted by permissionId → 403 on an
//   operation its user has; service account (Ed25519 key) → no permissions at first (403) →
//   createAssignment → signed createPermission → deactivate → 401 → activate → archive with force;
//   createUser → `signet user invite` → register + login as that user → createAssignment /
//   deleteAssignment (204) take effect on its next call → deactivate / activate user;
//   listUsers pagination.
// Every call is a DfnsApiClient / DfnsAuthenticator method; the SDK does all the signing.
//
// Called by interop.js with its step() machinery and shared state, after the admin has logged in
// (s.client) and before the logout step.

const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');

module.exports = function defineIdentitySteps(ctx) {
  const { step, s, server, sdk, expectDfnsError, assertUserActionFlow, sinceMark, keys, expectedSdkVersion } = ctx;
  const { DfnsApiClient, DfnsAuthenticator, AsymmetricKeySigner, BrowserKeySigner } = sdk;

  const suffix = nodeCrypto.randomBytes(3).toString('hex');
  const clientFor = (authToken, signer) => new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken, signer });

  // The credId the SDK's signer put into POST /auth/action, and what /auth/action/init offered.
  function signingCredentials(mark) {
    const xs = sinceMark(mark);
    const init = xs.find((x) => x.method === 'POST' && x.path === '/auth/action/init' && x.status === 200);
    const sign = xs.find((x) => x.method === 'POST' && x.path === '/auth/action');
    assert.ok(init && sign, 'expected /auth/action/init and /auth/action');
    return {
      offered: JSON.parse(init.resBody).allowCredentials.key.map((c) => c.id),
      used: JSON.parse(sign.reqBody).firstFactor.credentialAssertion.credId,
    };
  }

  async function expectStatus(promise, status, what) {
    const err = await expectDfnsError(promise, what);
    assert.equal(err.httpStatus, status, `${what}: expected DfnsError ${status}, got ${err.httpStatus}: ${err.message}`);
    return err;
  }

  function assertLongLivedToken(jwt, { kind, tokenId, userId }) {
    const { header, payload } = keys.decodeJwt(jwt);
    assert.equal(header.alg, 'EdDSA', 'long-lived token alg');
    const meta = payload['https://custom/app_metadata'];
    assert.equal(meta?.tokenKind, kind, 'app_metadata.tokenKind');
    assert.equal(meta?.orgId, s.orgId, 'app_metadata.orgId');
    assert.equal(meta?.userId, userId, 'app_metadata.userId');
    assert.equal(payload.sub, s.orgId, 'sub = org id');
    assert.equal(payload.jti, tokenId, 'jti = token id (spec 12.6)');
    return payload;
  }

  function assertAccessTokenObject(t, { kind, name, linkedUserId }) {
    assert.equal(t.kind, kind, 'access token kind');
    assert.equal(t.name, name, 'access token name');
    assert.equal(t.orgId, s.orgId, 'access token orgId');
    assert.equal(t.linkedUserId, linkedUserId, 'access token linkedUserId');
    assert.equal(t.isActive, true, 'access token isActive');
    assert.match(t.tokenId, /^to-/, 'tokenId prefix');
    assert.equal(typeof t.credId, 'string');
    assert.ok(t.credId.length > 0, 'credId is server-generated and non-empty');
    assert.ok(Array.isArray(t.permissionAssignments), 'permissionAssignments is an array');
  }

  // ---------------------------------------------------------------------------------------------
  // Permissions used below.

  step('createPermission (admin, user-action signed): one with Auth:Users:Read, one with Permissions:Create', ['client'], async (t, mark) => {
    const usersRead = await s.client.permissions.createPermission({
      body: { name: `interop-users-read-${suffix}`, operations: ['Auth:Users:Read'] },
    });
    assertUserActionFlow(mark, 'POST', '/permissions');
    assert.match(usersRead.id, /^pm-/);
    assert.equal(usersRead.name, `interop-users-read-${suffix}`);
    assert.deepEqual(usersRead.operations, ['Auth:Users:Read']);
    assert.equal(usersRead.isArchived, false);
    assert.equal(usersRead.isImmutable, false);
    const permCreate = await s.client.permissions.createPermission({
      body: { name: `interop-permissions-create-${suffix}`, operations: ['Permissions:Create'] },
    });
    assert.match(permCreate.id, /^pm-/);
    const got = await s.client.permissions.getPermission({ permissionId: permCreate.id });
    assert.deepEqual(got.operations, ['Permissions:Create']);
    const { items } = await s.client.permissions.listPermissions();
    const ids = items.map((p) => p.id);
    assert.ok(ids.includes(usersRead.id) && ids.includes(permCreate.id), `listPermissions: ${ids}`);
    s.permUsersRead = usersRead;
    s.permCreate = permCreate;
  });

  // ---------------------------------------------------------------------------------------------
  // Personal access token (P-256).

  step('createPersonalAccessToken (P-256 SPKI PEM) answers accessToken, a server-generated credId and tokenId', ['client'], async (t, mark) => {
    const key = keys.generateP256();
    const name = `interop pat ${suffix}`;
    const created = await s.client.auth.createPersonalAccessToken({ body: { name, publicKey: key.publicKeyPem, daysValid: 30 } });
    assertUserActionFlow(mark, 'POST', '/auth/pats');
    assertAccessTokenObject(created, { kind: 'Pat', name, linkedUserId: s.userId });
    assert.equal(typeof created.accessToken, 'string', 'accessToken shown in the create answer');
    assert.deepEqual(created.permissionAssignments, [], 'a PAT without permissionId has no own assignment');
    const payload = assertLongLivedToken(created.accessToken, { kind: 'Pat', tokenId: created.tokenId, userId: s.userId });
    const days = (payload.exp - payload.iat) / 86400;
    assert.ok(Math.abs(days - 30) < 0.01, `daysValid 30 → token lifetime ${days} days`);
    const res = await fetch(`${server.baseUrl}/.well-known/jwks.json`);
    keys.verifyJwtWithJwks(created.accessToken, await res.json());
    s.pat = { ...key, name, tokenId: created.tokenId, credId: created.credId, accessToken: created.accessToken };
    s.patClient = clientFor(created.accessToken, new AsymmetricKeySigner({ credId: created.credId, privateKey: key.privateKeyPem }));
    t.diagnostic(`PAT ${created.tokenId}, credId ${created.credId}`);
  });

  step('listPersonalAccessTokens / getPersonalAccessToken show the PAT without its accessToken', ['pat'], async () => {
    const { items } = await s.client.auth.listPersonalAccessTokens();
    const listed = items.find((x) => x.tokenId === s.pat.tokenId);
    assert.ok(listed, `PAT ${s.pat.tokenId} in listPersonalAccessTokens: ${JSON.stringify(items)}`);
    assert.equal(listed.accessToken, undefined, 'accessToken is shown only once');
    assert.equal(listed.credId, s.pat.credId);
    const got = await s.client.auth.getPersonalAccessToken({ tokenId: s.pat.tokenId });
    assert.equal(got.accessToken, undefined, 'accessToken is shown only once');
    assert.equal(got.name, s.pat.name);
    assert.equal(got.isActive, true);
  });

  step('the PAT signs its own user actions with its own key (updatePersonalAccessToken renames itself, createPermission)', ['pat'], async (t, mark) => {
    const newName = `${s.pat.name} renamed`;
    const updated = await s.patClient.auth.updatePersonalAccessToken({ tokenId: s.pat.tokenId, body: { name: newName } });
    assertUserActionFlow(mark, 'PUT', `/auth/pats/${s.pat.tokenId}`);
    const { offered, used } = signingCredentials(mark);
    assert.deepEqual(offered, [s.pat.credId], 'allowCredentials.key for a PAT token lists exactly its credId');
    assert.equal(used, s.pat.credId);
    assert.equal(updated.name, newName);
    assert.equal(updated.tokenId, s.pat.tokenId);
    s.pat.name = newName;

    // Without permissionId the PAT acts with its user's permissions (spec 12.8): the admin has all.
    const mark2 = ctx.httpLog.length;
    const perm = await s.patClient.permissions.createPermission({ body: { name: `interop-by-pat-${suffix}`, operations: ['Auth:Users:Read'] } });
    assertUserActionFlow(mark2, 'POST', '/permissions');
    assert.equal(signingCredentials(mark2).used, s.pat.credId);
    assert.match(perm.id, /^pm-/);
    const me = await s.patClient.auth.getUser({ userId: s.userId });
    assert.equal(me.userId, s.userId);
    s.patWorks = true;
  });

  step('a PAT cannot create a PAT or a service account (403)', ['patWorks'], async () => {
    const key = keys.generateP256();
    await expectStatus(
      s.patClient.auth.createPersonalAccessToken({ body: { name: `pat-by-pat-${suffix}`, publicKey: key.publicKeyPem } }),
      403,
      'createPersonalAccessToken with a PAT',
    );
    await expectStatus(
      s.patClient.auth.createServiceAccount({ body: { name: `sa-by-pat-${suffix}`, publicKey: key.publicKeyPem } }),
      403,
      'createServiceAccount with a PAT',
    );
  });

  step('deactivatePersonalAccessToken → the next PAT call (plain and signed) fails 401; activate → works again', ['patWorks'], async () => {
    const off = await s.client.auth.deactivatePersonalAccessToken({ tokenId: s.pat.tokenId });
    assert.equal(off.isActive, false);
    await expectStatus(s.patClient.auth.getUser({ userId: s.userId }), 401, 'getUser with a deactivated PAT');
    await expectStatus(
      s.patClient.auth.updatePersonalAccessToken({ tokenId: s.pat.tokenId, body: { name: `${s.pat.name} x` } }),
      401,
      'signed updatePersonalAccessToken with a deactivated PAT',
    );
    const on = await s.client.auth.activatePersonalAccessToken({ tokenId: s.pat.tokenId });
    assert.equal(on.isActive, true);
    const me = await s.patClient.auth.getUser({ userId: s.userId });
    assert.equal(me.userId, s.userId);
    const renamed = await s.patClient.auth.updatePersonalAccessToken({ tokenId: s.pat.tokenId, body: { name: s.pat.name } });
    assert.equal(renamed.name, s.pat.name);
    s.patReactivated = true;
  });

  step('archivePersonalAccessToken → the PAT gets 401 and is no longer listed as active', ['patReactivated'], async () => {
    const archived = await s.client.auth.archivePersonalAccessToken({ tokenId: s.pat.tokenId });
    assert.equal(archived.isActive, false);
    await expectStatus(s.patClient.auth.getUser({ userId: s.userId }), 401, 'getUser with an archived PAT');
    const { items } = await s.client.auth.listPersonalAccessTokens();
    const listed = items.find((x) => x.tokenId === s.pat.tokenId);
    assert.ok(!listed || listed.isActive === false, `archived PAT listed as active: ${JSON.stringify(listed)}`);
  });

  step('a PAT restricted by permissionId (Auth:Users:Read only) gets 403 on an operation its user has; getUser works', ['permUsersRead'], async (t) => {
    const key = keys.generateP256();
    const created = await s.client.auth.createPersonalAccessToken({
      body: { name: `interop restricted pat ${suffix}`, publicKey: key.publicKeyPem, permissionId: s.permUsersRead.id },
    });
    assert.equal(typeof created.accessToken, 'string');
    assert.deepEqual(
      created.permissionAssignments.map((a) => a.permissionId),
      [s.permUsersRead.id],
      `restricted PAT permissionAssignments: ${JSON.stringify(created.permissionAssignments)}`,
    );
    const restricted = clientFor(created.accessToken, new AsymmetricKeySigner({ credId: created.credId, privateKey: key.privateKeyPem }));
    const me = await restricted.auth.getUser({ userId: s.userId });
    assert.equal(me.userId, s.userId);
    const err = await expectStatus(restricted.permissions.listPermissions(), 403, 'listPermissions with a PAT restricted to Auth:Users:Read');
    t.diagnostic(`listPermissions: DfnsError ${err.httpStatus}: ${err.message}`);
    await expectStatus(
      restricted.permissions.createPermission({ body: { name: `interop-restricted-${suffix}`, operations: ['Auth:Users:Read'] } }),
      403,
      'signed createPermission with a PAT restricted to Auth:Users:Read',
    );
    // The admin itself still can.
    await s.client.permissions.listPermissions();
  });

  // ---------------------------------------------------------------------------------------------
  // Service account (Ed25519).

  step('createServiceAccount (Ed25519 SPKI PEM) answers userInfo and accessTokens[0] {accessToken, credId, tokenId}', ['client'], async (t, mark) => {
    const key = keys.generateEd25519();
    const name = `interop-sa-${suffix}`;
    const created = await s.client.auth.createServiceAccount({ body: { name, publicKey: key.publicKeyPem, daysValid: 7 } });
    assertUserActionFlow(mark, 'POST', '/auth/service-accounts');
    const u = created.userInfo;
    assert.match(u?.userId ?? '', /^us-/, `userInfo.userId: ${JSON.stringify(u)}`);
    assert.equal(u.isServiceAccount, true);
    assert.equal(u.isActive, true);
    assert.equal(u.kind, 'CustomerEmployee');
    assert.equal(u.orgId, s.orgId);
    assert.deepEqual(u.permissionAssignments, [], 'a service account starts with no permissions (spec 12.8)');
    assert.equal(created.accessTokens?.length, 1, JSON.stringify(created.accessTokens));
    const [tok] = created.accessTokens;
    assertAccessTokenObject(tok, { kind: 'ServiceAccount', name, linkedUserId: u.userId });
    assert.equal(typeof tok.accessToken, 'string', 'accessToken shown in the create answer');
    const payload = assertLongLivedToken(tok.accessToken, { kind: 'ServiceAccount', tokenId: tok.tokenId, userId: u.userId });
    const days = (payload.exp - payload.iat) / 86400;
    assert.ok(Math.abs(days - 7) < 0.01, `daysValid 7 → token lifetime ${days} days`);
    s.sa = { ...key, name, id: u.userId, tokenId: tok.tokenId, credId: tok.credId };
    s.saClient = clientFor(tok.accessToken, new AsymmetricKeySigner({ credId: tok.credId, privateKey: key.privateKeyPem }));
    t.diagnostic(`service account ${u.userId}, token ${tok.tokenId}, credId ${tok.credId}`);
  });

  step('listServiceAccounts / getServiceAccount / updateServiceAccount (rename)', ['sa'], async (t, mark) => {
    const { items } = await s.client.auth.listServiceAccounts();
    const listed = items.find((x) => x.userInfo?.userId === s.sa.id);
    assert.ok(listed, `service account ${s.sa.id} in listServiceAccounts: ${JSON.stringify(items)}`);
    assert.equal(listed.accessTokens?.[0]?.accessToken, undefined, 'accessToken is shown only once');
    assert.equal(listed.accessTokens?.[0]?.credId, s.sa.credId);
    const got = await s.client.auth.getServiceAccount({ serviceAccountId: s.sa.id });
    assert.equal(got.userInfo.userId, s.sa.id);
    assert.equal(got.accessTokens[0].tokenId, s.sa.tokenId);
    const mark2 = ctx.httpLog.length;
    const newName = `${s.sa.name}-renamed`;
    const updated = await s.client.auth.updateServiceAccount({ serviceAccountId: s.sa.id, body: { name: newName } });
    assertUserActionFlow(mark2, 'PUT', `/auth/service-accounts/${s.sa.id}`);
    assert.equal(updated.userInfo.userId, s.sa.id);
    assert.equal(updated.accessTokens[0].name, newName, `updated: ${JSON.stringify(updated)}`);
  });

  step('the new service account has no permissions: its signed createPermission gets 403', ['sa'], async (t, mark) => {
    const err = await expectStatus(
      s.saClient.permissions.createPermission({ body: { name: `interop-by-sa-denied-${suffix}`, operations: ['Auth:Users:Read'] } }),
      403,
      'createPermission by a service account without permissions',
    );
    // It did get through authentication and user-action signing with its Ed25519 key.
    const { offered, used } = signingCredentials(mark);
    assert.deepEqual(offered, [s.sa.credId], 'allowCredentials.key for a service-account token lists exactly its credId');
    assert.equal(used, s.sa.credId);
    t.diagnostic(`DfnsError ${err.httpStatus}: ${err.message}`);
  });

  step('createAssignment (Permissions:Create → service account) → the service account signs createPermission (Ed25519)', ['sa', 'permCreate'], async (t, mark) => {
    const a = await s.client.permissions.createAssignment({ permissionId: s.permCreate.id, body: { identityId: s.sa.id } });
    assertUserActionFlow(mark, 'POST', `/permissions/${s.permCreate.id}/assignments`);
    assert.match(a.id, /^as-/);
    assert.equal(a.permissionId, s.permCreate.id);
    assert.equal(a.identityId, s.sa.id);
    const { items } = await s.client.permissions.listAssignments({ permissionId: s.permCreate.id });
    assert.ok(items.some((x) => x.id === a.id && x.identityId === s.sa.id), `listAssignments: ${JSON.stringify(items)}`);
    const sa = await s.client.auth.getServiceAccount({ serviceAccountId: s.sa.id });
    assert.deepEqual(
      sa.userInfo.permissionAssignments.map((x) => x.permissionId),
      [s.permCreate.id],
      `service account permissionAssignments: ${JSON.stringify(sa.userInfo.permissionAssignments)}`,
    );

    const mark2 = ctx.httpLog.length;
    // It may grant only what it holds itself (docs/authorization.md): Permissions:Create.
    const perm = await s.saClient.permissions.createPermission({ body: { name: `interop-by-sa-${suffix}`, operations: ['Permissions:Create'] } });
    assertUserActionFlow(mark2, 'POST', '/permissions');
    assert.equal(signingCredentials(mark2).used, s.sa.credId);
    assert.match(perm.id, /^pm-/);
    // Only what was granted: reading permissions is not.
    await expectStatus(s.saClient.permissions.listPermissions(), 403, 'listPermissions by a service account holding only Permissions:Create');
    s.saGranted = a;
  });

  step('deactivateServiceAccount → its next call fails 401; activateServiceAccount → it works again', ['saGranted'], async (t, mark) => {
    const off = await s.client.auth.deactivateServiceAccount({ serviceAccountId: s.sa.id, body: { force: true } });
    assertUserActionFlow(mark, 'PUT', `/auth/service-accounts/${s.sa.id}/deactivate`);
    assert.equal(off.userInfo.isActive, false);
    const err = await expectStatus(
      s.saClient.permissions.createPermission({ body: { name: `interop-by-sa-off-${suffix}`, operations: ['Permissions:Create'] } }),
      401,
      'createPermission by a deactivated service account',
    );
    t.diagnostic(`DfnsError ${err.httpStatus}: ${err.message}`);
    const on = await s.client.auth.activateServiceAccount({ serviceAccountId: s.sa.id });
    assert.equal(on.userInfo.isActive, true);
    const perm = await s.saClient.permissions.createPermission({ body: { name: `interop-by-sa-on-${suffix}`, operations: ['Permissions:Create'] } });
    assert.match(perm.id, /^pm-/);
    s.saReactivated = true;
  });

  step('archiveServiceAccount({ query: { force: true } }) → the service account gets 401', ['saReactivated'], async (t, mark) => {
    const archived = await s.client.auth.archiveServiceAccount({ serviceAccountId: s.sa.id, query: { force: true } });
    const xs = sinceMark(mark);
    const del = xs.find((x) => x.method === 'DELETE');
    // @dfns/sdk 0.8.3 drops the query of archiveServiceAccount; 0.8.21 sends it.
    const expectedPath = expectedSdkVersion === '0.8.3' ? '' : '?force=true';
    assert.equal(new URL(del.url).search, expectedPath, `DELETE URL ${del.url}`);
    assert.equal(del.status, 200);
    assert.equal(archived.userInfo.userId, s.sa.id);
    assert.equal(archived.userInfo.isActive, false);
    await expectStatus(
      s.saClient.permissions.createPermission({ body: { name: `interop-by-sa-archived-${suffix}`, operations: ['Auth:Users:Read'] } }),
      401,
      'createPermission by an archived service account',
    );
  });

  // ---------------------------------------------------------------------------------------------
  // A second person: createUser → CLI invite → register → login.

  step('createUser (CustomerEmployee) answers an unregistered user without permissions', ['client'], async (t, mark) => {
    const email = `member-${suffix}@interop.test`;
    const u = await s.client.auth.createUser({ body: { email, kind: 'CustomerEmployee' } });
    assertUserActionFlow(mark, 'POST', '/auth/users');
    assert.match(u.userId, /^us-/);
    assert.equal(u.username, email);
    assert.equal(u.orgId, s.orgId);
    assert.equal(u.kind, 'CustomerEmployee');
    assert.equal(u.isActive, true);
    assert.equal(u.isRegistered, false);
    assert.equal(u.isServiceAccount, false);
    assert.deepEqual(u.permissionAssignments, []);
    const again = await expectDfnsError(s.client.auth.createUser({ body: { email, kind: 'CustomerEmployee' } }), 'createUser with a taken email');
    assert.ok(again.httpStatus >= 400 && again.httpStatus < 500, `duplicate createUser: ${again.httpStatus}`);
    // A second one, left unregistered, so listUsers below has three people to page through.
    const other = await s.client.auth.createUser({ body: { email: `pending-${suffix}@interop.test`, kind: 'CustomerEmployee' } });
    assert.equal(other.isRegistered, false);
    s.member = { email, userId: u.userId };
    s.pendingUserId = other.userId;
  });

  step('`signet user invite` → the new user registers (BrowserKeySigner) and logs in (AsymmetricKeySigner)', ['member'], async (t) => {
    const invite = await server.inviteUser({ orgId: s.orgId, username: s.member.email });
    assert.deepEqual(Object.keys(invite).sort(), ['orgId', 'registrationCode', 'username']);
    assert.equal(invite.orgId, s.orgId);
    assert.equal(invite.username, s.member.email);
    const keyPair = await keys.generateBrowserP256KeyPair();
    const signerOptions = { keyPair };
    const reg = await new DfnsAuthenticator({ baseUrl: server.baseUrl, orgId: s.orgId, signer: new BrowserKeySigner(signerOptions) }).register({
      orgId: s.orgId,
      username: s.member.email,
      registrationCode: invite.registrationCode,
    });
    assert.equal(reg.user?.id, s.member.userId);
    const signer = new AsymmetricKeySigner({ credId: signerOptions.credId, privateKey: keys.cryptoKeyToPkcs8Pem(keyPair.privateKey) });
    const { token } = await new DfnsAuthenticator({ baseUrl: server.baseUrl, orgId: s.orgId, signer }).login({
      orgId: s.orgId,
      username: s.member.email,
    });
    assert.equal(keys.decodeJwt(token).payload['https://custom/app_metadata']?.userId, s.member.userId);
    s.memberClient = clientFor(token, signer);
    const { items } = await s.memberClient.auth.listCredentials();
    assert.equal(items.length, 1);
    assert.equal(items[0].credentialId, signerOptions.credId);
    const viewed = await s.client.auth.getUser({ userId: s.member.userId });
    assert.equal(viewed.isRegistered, true);
  });

  step('createAssignment gives the new user Auth:Users:Read; deleteAssignment (204) takes it away on the next call', ['memberClient', 'permUsersRead'], async (t, mark) => {
    await expectStatus(s.memberClient.auth.getUser({ userId: s.member.userId }), 403, 'getUser by a user without permissions');
    const a = await s.client.permissions.createAssignment({ permissionId: s.permUsersRead.id, body: { identityId: s.member.userId } });
    assert.equal(a.identityId, s.member.userId);
    const me = await s.memberClient.auth.getUser({ userId: s.member.userId });
    assert.deepEqual(
      me.permissionAssignments.map((x) => [x.permissionId, x.assignmentId]),
      [[s.permUsersRead.id, a.id]],
      `permissionAssignments: ${JSON.stringify(me.permissionAssignments)}`,
    );

    const mark2 = ctx.httpLog.length;
    const res = await s.client.permissions.deleteAssignment({ permissionId: s.permUsersRead.id, assignmentId: a.id });
    assert.equal(res, undefined, 'deleteAssignment resolves with nothing');
    const fin = assertUserActionFlow(mark2, 'DELETE', `/permissions/${s.permUsersRead.id}/assignments/${a.id}`);
    assert.equal(fin.status, 204, 'deleteAssignment answers 204');
    assert.equal(fin.resBody, '', '204 has no body');
    const { items } = await s.client.permissions.listAssignments({ permissionId: s.permUsersRead.id });
    assert.ok(!items.some((x) => x.id === a.id), `deleted assignment still listed: ${JSON.stringify(items)}`);
    await expectStatus(s.memberClient.auth.getUser({ userId: s.member.userId }), 403, 'getUser after deleteAssignment');
    s.memberAssigned = true;
  });

  step('deactivateUser → the user\'s next call fails 401; activateUser → it works again', ['memberAssigned'], async (t, mark) => {
    const off = await s.client.auth.deactivateUser({ userId: s.member.userId });
    assertUserActionFlow(mark, 'PUT', `/auth/users/${s.member.userId}/deactivate`);
    assert.equal(off.isActive, false);
    await expectStatus(s.memberClient.auth.listCredentials(), 401, 'listCredentials by a deactivated user');
    const on = await s.client.auth.activateUser({ userId: s.member.userId });
    assert.equal(on.isActive, true);
    const { items } = await s.memberClient.auth.listCredentials();
    assert.equal(items.length, 1);
  });

  // ---------------------------------------------------------------------------------------------
  // listUsers pagination (after the steps above the org has ≥ 3 users: admin, service account, member).

  step('listUsers pages with limit / paginationToken until nextPageToken is absent', ['member', 'pendingUserId'], async (t, mark) => {
    const all = await s.client.auth.listUsers();
    assert.equal(all.nextPageToken, undefined, 'no nextPageToken without a limit on a small org');
    const allIds = all.items.map((u) => u.userId);
    for (const id of [s.userId, s.member.userId, s.pendingUserId]) {
      assert.ok(allIds.includes(id), `listUsers lacks ${id}: ${allIds}`);
    }
    assert.equal(all.items.find((u) => u.userId === s.pendingUserId).isRegistered, false);
    assert.equal(all.items.find((u) => u.userId === s.member.userId).isRegistered, true);
    const n = all.items.length;
    for (const limit of [1, 2]) {
      const pageMark = ctx.httpLog.length;
      const seen = [];
      const sizes = [];
      let paginationToken;
      do {
        const pg = await s.client.auth.listUsers({ query: { limit, paginationToken } });
        sizes.push(pg.items.length);
        seen.push(...pg.items.map((u) => u.userId));
        paginationToken = pg.nextPageToken;
        assert.ok(sizes.length <= n, `limit ${limit}: pagination does not terminate`);
      } while (paginationToken);
      const expected = Array.from({ length: Math.ceil(n / limit) }, (_, i) => Math.min(limit, n - i * limit));
      assert.deepEqual(sizes, expected, `limit ${limit}: page sizes (nextPageToken must be absent on the last page)`);
      assert.deepEqual([...seen].sort(), [...allIds].sort(), `limit ${limit}: the pages cover every user exactly once`);
      const xs = sinceMark(pageMark).filter((x) => x.path === '/auth/users');
      assert.equal(new URL(xs[0].url).search, `?limit=${limit}`, 'first page query');
      assert.match(new URL(xs[1].url).search, new RegExp(`^\\?limit=${limit}&paginationToken=.`), 'second page query');
      t.diagnostic(`limit ${limit}: ${n} users in pages of ${sizes.join(', ')}`);
    }
    const employees = await s.client.auth.listUsers({ query: { kind: 'CustomerEmployee' } });
    assert.ok(employees.items.length >= 3 && employees.items.every((u) => u.kind === 'CustomerEmployee'), JSON.stringify(employees.items));
  });

  step('archiveUser → the archived user gets 401', ['memberAssigned'], async () => {
    const archived = await s.client.auth.archiveUser({ userId: s.member.userId });
    assert.equal(archived.isActive, false);
    await expectStatus(s.memberClient.auth.listCredentials(), 401, 'listCredentials by an archived user');
  });
};
