'use strict';
// Issue 14 surface steps: credential challenges carry temporaryAuthenticationToken; the deprecated
// application routes; the delegated flows a backend service account runs for its end users
// (createDelegatedRegistrationChallenge → registerEndUser, delegatedLogin,
// createDelegatedRecoveryChallenge), each called through the official SDK's own method.
// A step whose SDK method this version lacks is skipped.

const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');

module.exports = function defineSurfaceSteps(ctx) {
  const { step, s, server, sdk, expectDfnsError, keys } = ctx;
  const { DfnsApiClient, AsymmetricKeySigner } = sdk;
  const suffix = nodeCrypto.randomBytes(3).toString('hex');
  const clientFor = (authToken, signer) => new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken, signer });
  const has = (name) => typeof s.client?.auth?.[name] === 'function';

  step('createCredentialChallenge answers temporaryAuthenticationToken (a JWT that is no bearer)', ['client'], async () => {
    const ch = await s.client.auth.createCredentialChallenge({ body: { kind: 'Key' } });
    assert.equal(typeof ch.temporaryAuthenticationToken, 'string', JSON.stringify(ch));
    assert.equal(ch.temporaryAuthenticationToken.split('.').length, 3, 'a JWT');
    const err = await expectDfnsError(clientFor(ch.temporaryAuthenticationToken).auth.listCredentials(), 'the temporary token as bearer');
    assert.equal(err.httpStatus, 401);
  });

  step('listApplications answers {items: []} and getApplication 404: signet keeps no applications', ['client'], async (t) => {
    if (!has('listApplications')) return t.skip('no listApplications in this SDK');
    const { items } = await s.client.auth.listApplications();
    assert.deepEqual(items, []);
    const err = await expectDfnsError(s.client.auth.getApplication({ appId: 'ap-none' }), 'getApplication');
    assert.equal(err.httpStatus, 404);
  });

  step('delegated: a service account with the three operations registers an end user (registerEndUser, no wallets)', ['client'], async (t) => {
    if (!has('createDelegatedRegistrationChallenge') || !has('registerEndUser')) return t.skip('no delegated registration in this SDK');
    const p = await s.client.permissions.createPermission({
      body: { name: `delegated-${suffix}`, operations: ['Auth:Register:Delegated', 'Auth:Login:Delegated', 'Auth:Recover:Delegated'] },
    });
    const key = keys.generateEd25519();
    const created = await s.client.auth.createServiceAccount({ body: { name: `delegated-sa-${suffix}`, publicKey: key.publicKeyPem, permissionId: p.id } });
    const [tok] = created.accessTokens;
    const sa = clientFor(tok.accessToken, new AsymmetricKeySigner({ credId: tok.credId, privateKey: key.privateKeyPem }));

    const email = `enduser-${suffix}@interop.test`;
    const ch = await sa.auth.createDelegatedRegistrationChallenge({ body: { email, kind: 'EndUser', externalId: `ext-${suffix}` } });
    assert.equal(typeof ch.temporaryAuthenticationToken, 'string', JSON.stringify(ch));
    assert.equal(typeof ch.challenge, 'string');
    const userKey = keys.generateEd25519();
    const rk = keys.generateEd25519();
    const credId = `k-${suffix}`;
    const rkId = `rk-${suffix}`;
    const recoveryCredential = {
      ...keys.ed25519KeyAttestation({ challenge: ch, credId: rkId, ...rk }),
      credentialKind: 'RecoveryKey',
      encryptedPrivateKey: 'opaque-to-signet',
    };
    const temp = clientFor(ch.temporaryAuthenticationToken);
    const body = { firstFactorCredential: keys.ed25519KeyAttestation({ challenge: ch, credId, ...userKey }), recoveryCredential, wallets: [] };
    const err = await expectDfnsError(temp.auth.registerEndUser({ body: { ...body, wallets: [{ network: 'EthereumSepolia' }] } }), 'registerEndUser with wallets');
    assert.equal(err.httpStatus, 400);
    const reg = await temp.auth.registerEndUser({ body });
    assert.equal(reg.user.username, email);
    assert.equal(reg.credential.kind, 'Key');
    assert.deepEqual(reg.wallets, []);
    assert.equal(typeof reg.authentication.token, 'string');
    const me = clientFor(reg.authentication.token);
    assert.ok((await me.auth.listCredentials()).items.some((c) => c.credentialId === credId), 'the end user\'s session works');
    s.delegated = { sa, email, rkId, userId: reg.user.id };
  });

  step('delegated: delegatedLogin returns a working login token for the end user; a user gets 403', ['delegated'], async () => {
    const { token } = await s.delegated.sa.auth.delegatedLogin({ body: { username: s.delegated.email } });
    const got = await clientFor(token).auth.listCredentials();
    assert.ok(Array.isArray(got.items));
    const err = await expectDfnsError(s.client.auth.delegatedLogin({ body: { username: s.delegated.email } }), 'delegatedLogin by a user');
    assert.equal(err.httpStatus, 403);
  });

  step('delegated: createDelegatedRecoveryChallenge returns the recovery challenge with the recovery key', ['delegated'], async (t) => {
    if (!has('createDelegatedRecoveryChallenge')) return t.skip('no delegated recovery in this SDK');
    const ch = await s.delegated.sa.auth.createDelegatedRecoveryChallenge({ body: { username: s.delegated.email, credentialId: s.delegated.rkId } });
    assert.equal(typeof ch.temporaryAuthenticationToken, 'string');
    assert.equal(ch.allowedRecoveryCredentials?.[0]?.id, s.delegated.rkId, JSON.stringify(ch));
  });
};
