'use strict';
// Issue 11 abuse-resistance steps, from the official SDK's point of view:
//   - login/init answers an unknown user like a known one (a decoy challenge of the same shape,
//     stable across calls), and the SDK's login of an unknown user fails at /auth/login with 401;
//   - a flood of login/init aimed at one user gets 429 with Retry-After (the per-target limit),
//     a DfnsError the SDK raises, while the known user still logs in.
// The server runs with its default limits (suite/harness.js passes no --rate-limit flag).

const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');

// shape replaces every leaf of a JSON value by its type and every array by its first element's
// shape: two answers with the same shape have the same fields, types and nesting.
function shape(v) {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape(v[k])]));
  return v === null ? 'null' : typeof v;
}

module.exports = function defineAbuseSteps(ctx) {
  const { step, s, server, sdk, expectDfnsError, sinceMark, keys } = ctx;
  const { BaseAuthApi, AsymmetricKeySigner, DfnsAuthenticator } = sdk;
  const suffix = nodeCrypto.randomBytes(3).toString('hex');
  const apiOptions = () => ({ baseUrl: server.baseUrl, orgId: s.orgId });
  const ids = (ch) => [...ch.allowCredentials.key, ...ch.allowCredentials.webauthn].map((c) => c.id);

  step('login/init answers an unknown user with a challenge of the same shape as a known user\'s, stable across calls', ['signer1'], async () => {
    const known = await BaseAuthApi.createUserLoginChallenge({ orgId: s.orgId, username: s.username }, apiOptions());
    const unknown = await BaseAuthApi.createUserLoginChallenge({ orgId: s.orgId, username: `nobody-${suffix}@interop.test` }, apiOptions());
    assert.deepEqual(shape(unknown), shape(known), `unknown: ${JSON.stringify(unknown)}\nknown: ${JSON.stringify(known)}`);
    assert.equal(unknown.challengeIdentifier.length, known.challengeIdentifier.length, 'challengeIdentifier length');
    assert.ok(ids(unknown).length > 0, 'the decoy lists credentials');
    const again = await BaseAuthApi.createUserLoginChallenge({ orgId: s.orgId, username: `nobody-${suffix}@interop.test` }, apiOptions());
    assert.deepEqual(ids(again), ids(unknown), 'the same credentials on every call');
    assert.notEqual(again.challenge, unknown.challenge, 'a fresh challenge on every call');
    s.decoy = unknown;
  });

  step('the SDK cannot log in to an unknown user: /auth/login answers 401 Not Authorized.', ['decoy'], async (t, mark) => {
    // A key that claims the decoy's first credential id, so AsymmetricKeySigner signs it.
    const key = keys.generateEd25519();
    const signer = new AsymmetricKeySigner({ credId: ids(s.decoy)[0], privateKey: key.privateKeyPem });
    const authenticator = new DfnsAuthenticator({ baseUrl: server.baseUrl, orgId: s.orgId, signer });
    const err = await expectDfnsError(authenticator.login({ orgId: s.orgId, username: `nobody-${suffix}@interop.test` }), 'login of an unknown user');
    assert.equal(err.httpStatus, 401, err.message);
    const xs = sinceMark(mark);
    assert.deepEqual(xs.map((x) => `${x.method} ${x.path} ${x.status}`), ['POST /auth/login/init 200', 'POST /auth/login 401']);
    t.diagnostic(`unknown user: ${err.message}`);
  });

  step('a flood of login/init at one user gets 429 with Retry-After; the real user still logs in', ['signer1'], async (t, mark) => {
    const victim = `flood-${suffix}@interop.test`;
    let refused = null;
    for (let i = 0; i < 60 && !refused; i++) {
      try {
        await BaseAuthApi.createUserLoginChallenge({ orgId: s.orgId, username: victim }, apiOptions());
      } catch (err) {
        refused = err;
      }
    }
    assert.ok(refused, 'no 429 after 60 login/init calls at one user');
    assert.equal(refused.httpStatus, 429, `${refused.name}: ${refused.message}`);
    const last = sinceMark(mark).at(-1);
    assert.equal(last.status, 429);
    assert.match(String(last.retryAfter), /^[1-9][0-9]*$/, `Retry-After: ${last.retryAfter}`);
    assert.equal(JSON.parse(last.resBody).error?.code, 'rate_limited', last.resBody);
    t.diagnostic(`429 after ${sinceMark(mark).length} calls, Retry-After: ${last.retryAfter}`);

    // Another target from the same client is not refused.
    const authenticator = new DfnsAuthenticator({ baseUrl: server.baseUrl, orgId: s.orgId, signer: s.signer1 });
    const { token } = await authenticator.login({ orgId: s.orgId, username: s.username });
    assert.equal(typeof token, 'string');
  });
};
