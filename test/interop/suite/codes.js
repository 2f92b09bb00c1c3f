'use strict';
// Issue 14 item 2 through the official SDK: sendLoginCode mails a code (read from the SMTP sink of
// ./mailbox.js), createLoginChallenge returns PasswordProtectedKey credentials with their
// encrypted private keys only with that code, which that use spends; the key logs in and signs a
// user action. And, last, the coverage step (./coverage.js): it fails when the installed SDK has a
// method the suite did not call. Every answer of a covered call was checked against the SDK's
// declared response type as it came. Without smtp-server (the 0.8.3 directory) the mail steps skip.

const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');

// ppkSigner signs as a PasswordProtectedKey: the keysigner's Key assertion with the kind the
// credential has (the SDK ships no PasswordProtectedKey signer; the client decrypts the key). The
// keysigner looks for its credId in allowCredentials.key, so it is shown the passwordProtectedKey list.
function ppkSigner(inner) {
  return {
    sign: async (challenge) => {
      const key = challenge.allowCredentials?.passwordProtectedKey ?? [];
      const a = await inner.sign({ ...challenge, allowCredentials: { ...challenge.allowCredentials, key } });
      return { ...a, kind: 'PasswordProtectedKey' };
    },
  };
}

function defineCodeSteps(ctx) {
  const { step, s, server, sdk, expectDfnsError, keys, mailbox } = ctx;
  const { DfnsApiClient, AsymmetricKeySigner } = sdk;
  const has = (name) => typeof s.client?.auth?.[name] === 'function';

  step('a PasswordProtectedKey is added (createCredentialChallenge / createCredential, encryptedPrivateKey stored as given)', ['client'], async () => {
    const key = keys.generateEd25519();
    const credId = `ppk-${nodeCrypto.randomBytes(4).toString('hex')}`;
    const encryptedPrivateKey = `opaque:${nodeCrypto.randomBytes(16).toString('base64url')}`;
    const ch = await s.client.auth.createCredentialChallenge({ body: { kind: 'PasswordProtectedKey' } });
    assert.equal(ch.kind, 'PasswordProtectedKey');
    const att = keys.ed25519KeyAttestation({ challenge: ch, credId, ...key });
    const bare = { ...att, credentialKind: 'PasswordProtectedKey', challengeIdentifier: ch.challengeIdentifier, credentialName: 'ppk' };
    const err = await expectDfnsError(s.client.auth.createCredential({ body: bare }), 'a PasswordProtectedKey without encryptedPrivateKey');
    assert.equal(err.httpStatus, 400);
    const ch2 = await s.client.auth.createCredentialChallenge({ body: { kind: 'PasswordProtectedKey' } });
    const cred = await s.client.auth.createCredential({
      body: {
        ...keys.ed25519KeyAttestation({ challenge: ch2, credId, ...key }),
        credentialKind: 'PasswordProtectedKey', encryptedPrivateKey, challengeIdentifier: ch2.challengeIdentifier, credentialName: 'ppk',
      },
    });
    assert.equal(cred.kind, 'PasswordProtectedKey');
    s.ppk = { credId, encryptedPrivateKey, signer: ppkSigner(new AsymmetricKeySigner({ credId, privateKey: key.privateKeyPem })) };
  });

  step('createLoginChallenge without loginCode lists no PasswordProtectedKey', ['ppk'], async () => {
    const ch = await s.client.auth.createLoginChallenge({ body: { username: s.username, orgId: s.orgId } });
    assert.equal(ch.allowCredentials.passwordProtectedKey, undefined, JSON.stringify(ch.allowCredentials));
    assert.ok(!JSON.stringify(ch).includes(s.ppk.encryptedPrivateKey));
  });

  step('sendLoginCode mails a code; createLoginChallenge with it returns the encrypted key once; the key logs in and signs', ['ppk'], async (t) => {
    if (!mailbox || !has('sendLoginCode')) return t.skip('no SMTP sink (smtp-server) or no sendLoginCode in this SDK');
    const before = mailbox.messages.length;
    const res = await s.client.auth.sendLoginCode({ body: { username: s.username, orgId: s.orgId } });
    assert.equal(res.message, 'success');
    const loginCode = await mailbox.code(s.username, 'Login code', before);

    const wrong = await expectDfnsError(
      s.client.auth.createLoginChallenge({ body: { username: s.username, orgId: s.orgId, loginCode: 'AAAAA-BBBBB-CCCCC-DDDDD' } }),
      'a wrong login code',
    );
    assert.equal(wrong.httpStatus, 401);
    const ch = await s.client.auth.createLoginChallenge({ body: { username: s.username, orgId: s.orgId, loginCode } });
    assert.deepEqual(ch.allowCredentials.passwordProtectedKey, [{ type: 'public-key', id: s.ppk.credId, encryptedPrivateKey: s.ppk.encryptedPrivateKey }]);
    const spent = await expectDfnsError(
      s.client.auth.createLoginChallenge({ body: { username: s.username, orgId: s.orgId, loginCode } }),
      'the login code used twice',
    );
    assert.equal(spent.httpStatus, 401);

    const { token } = await s.client.auth.login({ body: { challengeIdentifier: ch.challengeIdentifier, firstFactor: await s.ppk.signer.sign(ch) } });
    assert.equal(typeof token, 'string');
    const me = new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: token, signer: s.ppk.signer });
    const code = await me.auth.createCredentialCode({ body: { expiration: new Date(Date.now() + 50_000).toISOString() } });
    assert.equal(typeof code.code, 'string');
  });

  step('sendLoginCode for nobody answers the same, and mails nothing', ['ppk'], async (t) => {
    if (!mailbox || !has('sendLoginCode')) return t.skip('no SMTP sink (smtp-server) or no sendLoginCode in this SDK');
    const before = mailbox.messages.length;
    const res = await s.client.auth.sendLoginCode({ body: { username: 'nobody@interop.test', orgId: s.orgId } });
    assert.equal(res.message, 'success');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(mailbox.messages.length, before);
  });
}

// defineCoverageStep must be called after every other step.
function defineCoverageStep({ it, coverage }) {
  it('calls every method of the four SDK clients, every answer of the declared type', (t) => {
    t.diagnostic(`${coverage.called().length} of ${coverage.all().length} methods called, ${coverage.checked().length} answers type-checked`);
    const missing = coverage.uncalled();
    assert.deepEqual(missing, [], `the installed SDK has ${missing.length} method(s) the suite never called:\n  ${missing.join('\n  ')}`);
  });
}

module.exports = { defineCodeSteps, defineCoverageStep };
