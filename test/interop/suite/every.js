'use strict';
// Issue 14 item 5: the SDK methods no other step calls, each called with valid input and its
// answer checked against its declared type by ./coverage.js. DfnsDelegatedApiClient's auth
// domain runs every write as an explicit Init/Complete pair: Init returns the user-action
// challenge, the suite signs it (the admin's AsymmetricKeySigner) and Complete sends the request
// with that signature. Run before logout, as the bootstrap admin.

const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');

module.exports = function defineEverySteps(ctx) {
  const { step, s, server, sdk, keys, mailbox } = ctx;
  const { DfnsApiClient, DfnsDelegatedApiClient, AsymmetricKeySigner } = sdk;
  const suffix = nodeCrypto.randomBytes(3).toString('hex');
  const delegated = () => new DfnsDelegatedApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: s.token });
  // pair runs d.auth.<name>Init(request), signs its challenge, and returns <name>Complete.
  async function pair(d, name, request, signer = s.signer1) {
    const ch = await d.auth[`${name}Init`](request);
    assert.equal(typeof ch.challengeIdentifier, 'string', `${name}Init challenge`);
    const firstFactor = await signer.sign(ch);
    return d.auth[`${name}Complete`](request, { challengeIdentifier: ch.challengeIdentifier, firstFactor });
  }

  step('delegated client: every read (users, credentials, PATs, service accounts, applications, audit log)', ['client'], async () => {
    const d = delegated();
    assert.equal((await d.auth.getUser({ userId: s.userId })).userId, s.userId);
    assert.ok((await d.auth.listUsers()).items.some((u) => u.userId === s.userId));
    const creds = await d.auth.listCredentials();
    assert.ok(creds.items.length > 0);
    assert.deepEqual((await d.auth.listUserCredentials()).items.map((c) => c.credentialUuid), creds.items.map((c) => c.credentialUuid));
    assert.deepEqual((await s.client.auth.listUserCredentials()).items.length, creds.items.length);
    assert.ok(Array.isArray((await d.auth.listPersonalAccessTokens()).items));
    assert.ok(Array.isArray((await d.auth.listServiceAccounts()).items));
    assert.deepEqual((await d.auth.listApplications()).items, []);
    await assert.rejects(d.auth.getApplication({ appId: 'ap-none' }), (e) => e.httpStatus === 404);
    const now = new Date();
    const csv = await d.auth.listAuditLogs({ query: { startTime: new Date(now - 3600_000).toISOString(), endTime: new Date(+now + 60_000).toISOString() } });
    assert.equal(typeof csv, 'string');
    const id = csv.split('\n')[1]?.split(',')[1];
    assert.ok(id, csv.slice(0, 300));
    assert.equal((await d.auth.getAuditLog({ id })).id, id);
  });

  step('delegated client: PAT and service-account lifecycle through Init/Complete pairs', ['client'], async () => {
    const d = delegated();
    const patKey = keys.generateP256();
    const pat = await pair(d, 'createPersonalAccessToken', { body: { name: `every-pat-${suffix}`, publicKey: patKey.publicKeyPem } });
    const tokenId = pat.tokenId;
    assert.equal(typeof tokenId, 'string', JSON.stringify(pat));
    assert.equal((await d.auth.getPersonalAccessToken({ tokenId })).tokenId, tokenId);
    assert.equal((await pair(d, 'updatePersonalAccessToken', { tokenId, body: { name: `every-pat2-${suffix}` } })).name, `every-pat2-${suffix}`);
    assert.equal((await pair(d, 'deactivatePersonalAccessToken', { tokenId })).isActive, false);
    assert.equal((await pair(d, 'activatePersonalAccessToken', { tokenId })).isActive, true);
    assert.equal((await pair(d, 'archivePersonalAccessToken', { tokenId })).isActive, false);

    const saKey = keys.generateEd25519();
    const sa = await pair(d, 'createServiceAccount', { body: { name: `every-sa-${suffix}`, publicKey: saKey.publicKeyPem } });
    const serviceAccountId = sa.userInfo.userId;
    assert.equal((await d.auth.getServiceAccount({ serviceAccountId })).userInfo.userId, serviceAccountId);
    assert.equal((await pair(d, 'updateServiceAccount', { serviceAccountId, body: { name: `every-sa2-${suffix}` } })).userInfo.username, `every-sa2-${suffix}`);
    assert.equal((await pair(d, 'deactivateServiceAccount', { serviceAccountId })).userInfo.isActive, false);
    assert.equal((await pair(d, 'activateServiceAccount', { serviceAccountId })).userInfo.isActive, true);
    assert.equal((await pair(d, 'archiveServiceAccount', { serviceAccountId })).userInfo.isActive, false);
  });

  step('delegated client: user lifecycle through Init/Complete pairs', ['client'], async () => {
    const d = delegated();
    const email = `every-${suffix}@interop.test`;
    const u = await pair(d, 'createUser', { body: { email, kind: 'CustomerEmployee' } });
    assert.equal(u.username, email);
    const userId = u.userId;
    assert.equal((await pair(d, 'deactivateUser', { userId })).isActive, false);
    assert.equal((await pair(d, 'activateUser', { userId })).isActive, true);
    assert.equal((await pair(d, 'archiveUser', { userId })).isActive, false);
  });

  step('delegated client: credentials (challenge, create, deactivate, activate) and credential codes', ['client'], async () => {
    const d = delegated();
    const key = keys.generateEd25519();
    const credId = `every-${suffix}`;
    for (const alias of ['createCredentialChallenge', 'createUserCredentialChallenge']) {
      assert.equal((await d.auth[alias]({ body: { kind: 'Key' } })).kind, 'Key');
    }
    const ch = await d.auth.createCredentialChallenge({ body: { kind: 'Key' } });
    const body = { ...keys.ed25519KeyAttestation({ challenge: ch, credId, ...key }), challengeIdentifier: ch.challengeIdentifier, credentialName: 'every' };
    const cred = await pair(d, 'createCredential', { body });
    const credentialUuid = cred.credentialUuid;
    assert.equal(typeof credentialUuid, 'string', JSON.stringify(cred));
    await pair(d, 'deactivateCredential', { body: { credentialUuid } });
    await pair(d, 'activateCredential', { body: { credentialUuid } });

    // A second Key through the AuthClient aliases of createCredential.
    const ch2 = await s.client.auth.createUserCredentialChallenge({ body: { kind: 'Key' } });
    const key2 = keys.generateEd25519();
    const c2 = await s.client.auth.createUserCredential({
      body: { ...keys.ed25519KeyAttestation({ challenge: ch2, credId: `${credId}-2`, ...key2 }), challengeIdentifier: ch2.challengeIdentifier, credentialName: 'every2' },
    });
    assert.equal(c2.kind, 'Key');

    // Credential codes: made by a signed call, spent by the unauthenticated pair.
    for (const [client, codeOf] of [
      [d, async () => pair(d, 'createCredentialCode', { body: { expiration: new Date(Date.now() + 50_000).toISOString() } })],
      [s.client, async () => s.client.auth.createCredentialCode({ body: { expiration: new Date(Date.now() + 50_000).toISOString() } })],
    ]) {
      const { code } = await codeOf();
      const cch = await client.auth.createCredentialChallengeWithCode({ body: { code, credentialKind: 'Key' } });
      const k = keys.generateEd25519();
      const made = await client.auth.createCredentialWithCode({
        body: { ...keys.ed25519KeyAttestation({ challenge: cch, credId: `code-${nodeCrypto.randomBytes(4).toString('hex')}`, ...k }), challengeIdentifier: cch.challengeIdentifier, credentialName: 'by code' },
      });
      assert.equal(made.kind, 'Key');
    }
  });

  step('user-action signing by hand on both clients (createUserActionChallenge / createUserActionSignature and aliases)', ['client'], async () => {
    for (const c of [s.client, delegated()]) {
      for (const alias of ['createUserActionChallenge', 'createUserActionSignatureChallenge']) {
        const ch = await c.auth[alias]({
          body: { userActionPayload: '{}', userActionHttpMethod: 'POST', userActionHttpPath: '/auth/credentials/code', userActionServerKind: 'Api' },
        });
        const firstFactor = await s.signer1.sign(ch);
        const { userAction } = await c.auth.createUserActionSignature({ body: { challengeIdentifier: ch.challengeIdentifier, firstFactor } });
        assert.equal(typeof userAction, 'string');
      }
    }
  });

  step('delegated client: login challenge, login, logout', ['client'], async () => {
    const d = delegated();
    const ch = await d.auth.createLoginChallenge({ body: { username: s.username, orgId: s.orgId } });
    const { token } = await d.auth.login({ body: { challengeIdentifier: ch.challengeIdentifier, firstFactor: await s.signer1.sign(ch) } });
    const mine = new DfnsDelegatedApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: token });
    assert.equal(typeof (await mine.auth.logout()).message, 'string');
    await assert.rejects(mine.auth.listCredentials(), (e) => e.httpStatus === 401);
  });

  step('codes by mail on both clients: sendLoginCode, sendRecoveryCode, resendRegistrationCode', ['client'], async (t) => {
    if (!mailbox) return t.skip('no SMTP sink in this version directory');
    const d = delegated();
    for (const c of [d]) {
      assert.equal((await c.auth.sendLoginCode({ body: { username: s.username, orgId: s.orgId } })).message, 'success');
      assert.equal((await c.auth.sendRecoveryCode({ body: { username: s.username, orgId: s.orgId } })).message, 'success');
    }
    // Four new users, each registered (with a RecoveryKey) through one of the four registration
    // methods and recovered through one of the four recovery methods.
    const api = (authToken) => new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken });
    const dapi = (authToken) => new DfnsDelegatedApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken });
    const flows = [
      [s.client, api, 'register', 'sendRecoveryCode', 'recover'],
      [s.client, api, 'createUserRegistration', 'sendRecoveryCode', 'createUserRecovery'],
      [d, dapi, 'register', 'sendRecoveryCode', 'recover'],
      [d, dapi, 'createUserRegistration', 'sendRecoveryCode', 'createUserRecovery'],
    ];
    for (const [i, [c, tempClient, reg, send, rec]] of flows.entries()) {
      const email = `every-reg${i}-${suffix}@interop.test`;
      let before = mailbox.messages.length;
      await s.client.auth.createUser({ body: { email, kind: 'CustomerEmployee' } });
      await mailbox.code(email, 'Registration code', before);
      before = mailbox.messages.length;
      assert.equal((await c.auth.resendRegistrationCode({ body: { username: email, orgId: s.orgId } })).message, 'success');
      const registrationCode = await mailbox.code(email, 'Registration code', before);
      const ch = await c.auth.createRegistrationChallenge({ body: { orgId: s.orgId, username: email, registrationCode } });
      const k = keys.generateEd25519();
      const rk = keys.generateEd25519();
      const rkId = `rk${i}-${suffix}`;
      const done = await tempClient(ch.temporaryAuthenticationToken).auth[reg]({
        body: {
          firstFactorCredential: keys.ed25519KeyAttestation({ challenge: ch, credId: `reg${i}-${suffix}`, ...k }),
          recoveryCredential: { ...keys.ed25519KeyAttestation({ challenge: ch, credId: rkId, ...rk }), credentialKind: 'RecoveryKey', encryptedPrivateKey: 'opaque' },
        },
      });
      assert.equal(done.user.username, email);

      before = mailbox.messages.length;
      assert.equal((await c.auth[send]({ body: { username: email, orgId: s.orgId } })).message, 'success');
      const verificationCode = await mailbox.code(email, 'Recovery code', before);
      const rch = await c.auth.createRecoveryChallenge({ body: { username: email, verificationCode, orgId: s.orgId, credentialId: rkId } });
      assert.equal(rch.allowedRecoveryCredentials[0].encryptedRecoveryKey, 'opaque');
      const newCredentials = { firstFactorCredential: keys.ed25519KeyAttestation({ challenge: rch, credId: `new${i}-${suffix}`, ...keys.generateEd25519() }) };
      const cd = Buffer.from(JSON.stringify({ type: 'key.get', challenge: keys.b64url(Buffer.from(JSON.stringify(newCredentials))) }));
      const recovery = {
        kind: 'RecoveryKey',
        credentialAssertion: { credId: rkId, clientData: keys.b64url(cd), signature: keys.b64url(nodeCrypto.sign(null, cd, rk.privateKeyPem)) },
      };
      const recovered = await tempClient(rch.temporaryAuthenticationToken).auth[rec]({ body: { recovery, newCredentials } });
      assert.equal(recovered.user.username, email);
    }
  });

  step('updateUser on both clients; archivePermission', ['client'], async () => {
    const d = delegated();
    assert.equal((await s.client.auth.updateUser({ userId: s.userId, body: { isSSORequired: false } })).userId, s.userId);
    assert.equal((await pair(d, 'updateUser', { userId: s.userId, body: { isSSORequired: false } })).userId, s.userId);
    const p = await s.client.permissions.createPermission({ body: { name: `every-archive-${suffix}`, operations: ['Auth:Users:Read'] } });
    assert.equal((await s.client.permissions.archivePermission({ permissionId: p.id, body: { isArchived: true } })).isArchived, true);
  });

  step('delegated flows of a service account, on both clients (aliases and Init/Complete pairs)', ['client'], async () => {
    const p = await s.client.permissions.createPermission({
      body: { name: `every-delegated-${suffix}`, operations: ['Auth:Register:Delegated', 'Auth:Login:Delegated', 'Auth:Recover:Delegated'] },
    });
    const key = keys.generateEd25519();
    const created = await s.client.auth.createServiceAccount({ body: { name: `every-dsa-${suffix}`, publicKey: key.publicKeyPem, permissionId: p.id } });
    const [tok] = created.accessTokens;
    const signer = new AsymmetricKeySigner({ credId: tok.credId, privateKey: key.privateKeyPem });
    const sa = new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: tok.accessToken, signer });
    const dsa = new DfnsDelegatedApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: tok.accessToken });

    const endUsers = [];
    for (const [i, register] of [
      () => sa.auth.createDelegatedUserRegistration({ body: { email: `eu0-${suffix}@interop.test`, kind: 'EndUser' } }),
      () => pair(dsa, 'createDelegatedRegistrationChallenge', { body: { email: `eu1-${suffix}@interop.test`, kind: 'EndUser' } }, signer),
    ].entries()) {
      const ch = await register();
      const rkId = `eurk${i}-${suffix}`;
      const rk = keys.generateEd25519();
      const temp = (i === 0 ? (t) => new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: t }) : (t) => new DfnsDelegatedApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: t }))(ch.temporaryAuthenticationToken);
      const reg = await temp.auth.registerEndUser({
        body: {
          firstFactorCredential: keys.ed25519KeyAttestation({ challenge: ch, credId: `eu${i}-${suffix}`, ...keys.generateEd25519() }),
          recoveryCredential: { ...keys.ed25519KeyAttestation({ challenge: ch, credId: rkId, ...rk }), credentialKind: 'RecoveryKey', encryptedPrivateKey: 'opaque' },
          wallets: [],
        },
      });
      endUsers.push({ username: reg.user.username, rkId });
    }
    const [a, b] = endUsers;
    assert.equal(typeof (await sa.auth.createDelegatedUserLogin({ body: { username: a.username } })).token, 'string');
    assert.equal(typeof (await pair(dsa, 'delegatedLogin', { body: { username: b.username } }, signer)).token, 'string');
    assert.equal((await sa.auth.createDelegatedUserRecovery({ body: { username: a.username, credentialId: a.rkId } })).allowedRecoveryCredentials[0].id, a.rkId);
    assert.equal((await pair(dsa, 'createDelegatedRecoveryChallenge', { body: { username: b.username, credentialId: b.rkId } }, signer)).allowedRecoveryCredentials[0].id, b.rkId);
  });
};
