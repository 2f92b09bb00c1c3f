'use strict';
// signet ⇄ official Dfns TypeScript SDK interop suite (node:test).
//
// Each version directory (../sdk-0.8.3, ../sdk-0.8.21) has its own node_modules and a thin
// interop.test.js that calls this module with its own directory: every @dfns/* package is loaded
// from *that* directory, so one run exercises exactly one @dfns/sdk version (asserted below).
//
// Flow (all against a real `signet serve` on a free loopback port with a throwaway database):
//   bootstrap (CLI) → register with BrowserKeySigner (P-256, @dfns/sdk-browser) via DfnsAuthenticator
//   → login via DfnsAuthenticator + AsymmetricKeySigner (@dfns/sdk-keysigner)
//   → DfnsApiClient: getUser, listCredentials, add a second Key credential (Ed25519),
//     deactivate / reactivate it (every write a user-action-signed call the SDK performs itself)
//   → a deactivated credential cannot sign
//   → PATs (P-256), service accounts (Ed25519), restricted PATs, users, permissions and assignments,
//     each long-lived token signing with its own AsymmetricKeySigner (./identities.js)
//   → audit log: listAuditLogs CSV / getAuditLog of every signed call above, signatures re-verified
//     with node:crypto, userId filter, 403 without Auth:Logs:Read (./audit.js)
//   → escalation prevention: the three ways in of issue 9 and no lockout from below (./escalation.js)
//   → policies: a 2-of-3 policy on Permissions:Assign → PolicyPendingError, two approvals, the
//     assignment exists once; a denial aborts (./policies.js)
//   → abuse: unknown users get a decoy login challenge, a login/init flood gets 429 (./abuse.js)
//   → logout → the old token gets 401; JWKS verifies tokens.

const path = require('node:path');
const fs = require('node:fs');
const { createRequire } = require('node:module');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { SignetServer } = require('./harness');
const { installHttpLog, formatExchange } = require('./httplog');
const keys = require('./keys');
const defineIdentitySteps = require('./identities');
const defineAuditSteps = require('./audit');
const defineEscalationSteps = require('./escalation');
const defineSurfaceSteps = require('./surface');
const definePolicySteps = require('./policies');
const defineOidcSteps = require('./oidc');
const { defineCodeSteps, defineCoverageStep } = require('./codes');
const defineEverySteps = require('./every');
const { installCoverage } = require('./coverage');
const { createMailbox } = require('./mailbox');
const defineAbuseSteps = require('./abuse');

const STEP_TIMEOUT_MS = 30_000;

module.exports = function defineInteropSuite(sdkDir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(sdkDir, 'package.json'), 'utf8'));
  const expectedSdkVersion = manifest.dependencies['@dfns/sdk'];
  const sdkRequire = createRequire(path.join(sdkDir, 'package.json'));

  // Must precede the first require of @dfns/sdk (see httplog.js).
  const httpLog = installHttpLog(sdkRequire);
  const sdk = sdkRequire('@dfns/sdk');
  const { DfnsApiClient, DfnsAuthenticator, DfnsError, BaseAuthApi } = sdk;
  const { AsymmetricKeySigner } = sdkRequire('@dfns/sdk-keysigner');
  const { BrowserKeySigner } = sdkRequire('@dfns/sdk-browser');
  // Every method called, every answer of its declared type (suite/coverage.js), where the version
  // directory pins typescript; codes mailed to an SMTP sink (suite/mailbox.js).
  const coverage = installCoverage(sdkRequire, sdk);
  const mailbox = createMailbox(sdkRequire);

  const dbKind = (process.env.SIGNET_INTEROP_DB || 'sqlite').toLowerCase();
  const server = new SignetServer();
  const s = {}; // state shared by the steps, filled as they pass
  let failures = 0;

  const sinceMark = (mark) => httpLog.slice(mark);

  // A step runs only if the state it needs was produced by earlier steps; otherwise it is skipped
  // (so one server bug gives one failure, not a cascade). On failure the error carries the exact
  // HTTP exchanges the step made.
  function step(name, needs, fn) {
    // A hung request must not hang the run: the SDK's fetch has no timeout of its own.
    it(name, { timeout: STEP_TIMEOUT_MS }, async (t) => {
      const missing = needs.filter((k) => s[k] === undefined);
      if (missing.length) {
        t.skip(`needs ${missing.join(', ')} from an earlier step that failed`);
        return;
      }
      const mark = httpLog.length;
      try {
        await fn(t, mark);
      } catch (err) {
        failures++;
        const exchanges = sinceMark(mark);
        const detail = err instanceof DfnsError ? `DfnsError ${err.toString()}` : (err && err.stack) || String(err);
        const wrapped = new Error(
          `${detail}\n--- HTTP exchanges in this step (${exchanges.length}) ---\n` +
            (exchanges.length ? exchanges.map(formatExchange).join('\n') : '(none)'),
        );
        wrapped.stack = wrapped.message;
        throw wrapped;
      }
    });
  }

  async function expectDfnsError(promise, what) {
    let err;
    try {
      await promise;
    } catch (e) {
      err = e;
    }
    assert.ok(err, `${what}: expected the SDK to throw, but the call succeeded`);
    assert.ok(
      err instanceof DfnsError,
      `${what}: expected a DfnsError, got ${err && err.name}: ${err && err.message} ` +
        '(a non-JSON error body makes the SDK throw a SyntaxError instead)',
    );
    return err;
  }

  // Checks that the SDK made the three-request user-action flow for one call and returns the
  // final request. (What the SDK does, not what signet does: it documents the wire contract.)
  function assertUserActionFlow(mark, method, pathname) {
    const xs = sinceMark(mark);
    const finalIdx = xs.findIndex((x) => x.method === method && x.path === pathname);
    assert.ok(finalIdx >= 2, `expected ${method} ${pathname} preceded by /auth/action/init and /auth/action`);
    const [init, sign, fin] = [xs[finalIdx - 2], xs[finalIdx - 1], xs[finalIdx]];
    assert.equal(`${init.method} ${init.path}`, 'POST /auth/action/init');
    assert.equal(`${sign.method} ${sign.path}`, 'POST /auth/action');
    const initBody = JSON.parse(init.reqBody);
    assert.equal(initBody.userActionHttpMethod, method);
    assert.equal(initBody.userActionHttpPath, pathname);
    assert.equal(initBody.userActionPayload, fin.reqBody ?? '');
    const userAction = JSON.parse(sign.resBody).userAction;
    assert.equal(fin.reqHeaders['x-dfns-useraction'], userAction, 'final request carries the userAction from /auth/action');
    return fin;
  }

  // Independent of the server, so it reports even when signet cannot be built or started.
  it(`loads @dfns/sdk ${expectedSdkVersion}, @dfns/sdk-keysigner 0.8.3, @dfns/sdk-browser 0.6.12 (one @dfns/sdk instance shared by both signers)`, (t) => {
    const loaded = sdkRequire('@dfns/sdk/package.json').version;
    assert.equal(loaded, expectedSdkVersion, '@dfns/sdk version under test');
    assert.equal(sdkRequire('@dfns/sdk-keysigner/package.json').version, '0.8.3');
    assert.equal(sdkRequire('@dfns/sdk-browser/package.json').version, '0.6.12');
    const sdkMain = sdkRequire.resolve('@dfns/sdk');
    for (const signerPkg of ['@dfns/sdk-keysigner', '@dfns/sdk-browser']) {
      const fromSigner = require.resolve('@dfns/sdk', { paths: [path.dirname(sdkRequire.resolve(`${signerPkg}/package.json`))] });
      assert.equal(fromSigner, sdkMain, `${signerPkg} must load the @dfns/sdk under test`);
    }
    t.diagnostic(`@dfns/sdk ${loaded} loaded from ${path.dirname(sdkMain)}`);
  });

  describe(`signet interop: @dfns/sdk ${expectedSdkVersion} + @dfns/sdk-keysigner 0.8.3 + @dfns/sdk-browser 0.6.12 on ${dbKind}`, () => {
    before(async () => {
      if (mailbox) server.extraArgs = ['--smtp-addr', await mailbox.start(), '--smtp-from', 'signet@interop.test'];
      coverage.load();
      await server.start(); // may include `go build` when SIGNET_BIN is unset
    }, { timeout: 600_000 });

    after(async () => {
      if (failures > 0) {
        process.stderr.write(
          `\n=== interop (@dfns/sdk ${expectedSdkVersion}, ${dbKind}): ${failures} step(s) failed; signet stderr (${server.logFile}) ===\n` +
            `${server.tail()}\n=== end of signet stderr; temp dir kept: ${server.tmpDir} ===\n`,
        );
      }
      await server.stop({ keep: failures > 0 });
      if (mailbox) await mailbox.stop();
    });

    step('GET /healthz answers 200 {"status":"ok"}', [], (t) => {
      t.diagnostic(`signet at ${server.baseUrl}, database ${server.db.label}`);
      assert.equal(server.health.status, 200);
      assert.deepEqual(JSON.parse(server.health.text), { status: 'ok' });
    });

    if (server.tls || process.env.SIGNET_INTEROP_TLS_CERT) {
      step('serves HTTPS only, with a certificate of the test CA Node was told to trust', [], async () => {
        const u = new URL(server.baseUrl);
        assert.equal(u.protocol, 'https:');
        // Plain HTTP on the same port gets no API answer.
        let plain = null;
        try {
          const res = await fetch(`http://${u.host}/.well-known/jwks.json`, { signal: AbortSignal.timeout(2000) });
          plain = `${res.status} ${(await res.text()).slice(0, 100)}`;
        } catch {}
        assert.ok(plain === null || !plain.includes('"keys"'), `plain HTTP answered the API: ${plain}`);
      });
    }

    step('signet bootstrap prints {orgId, userId, username, registrationCode}', [], async () => {
      s.username = `admin-${Date.now()}@interop.test`;
      const out = await server.bootstrap({ orgName: 'Interop Org', username: s.username });
      for (const k of ['orgId', 'userId', 'username', 'registrationCode']) {
        assert.equal(typeof out[k], 'string', `bootstrap output field ${k}: ${JSON.stringify(out)}`);
        assert.ok(out[k].length > 0, `bootstrap output field ${k} is empty`);
      }
      assert.equal(out.username, s.username);
      s.boot = out;
      s.orgId = out.orgId;
      s.userId = out.userId;
    });

    step('registers with a Key credential built by the real BrowserKeySigner.create (DfnsAuthenticator.register)', ['boot'], async (t, mark) => {
      const keyPair = await keys.generateBrowserP256KeyPair();
      const signerOptions = { keyPair }; // BrowserKeySigner generates credId and writes it back here
      const authenticator = new DfnsAuthenticator({
        baseUrl: server.baseUrl,
        orgId: s.orgId, // makes the SDK check app_metadata.orgId of the temporary token too
        signer: new BrowserKeySigner(signerOptions),
      });
      const res = await authenticator.register({ orgId: s.orgId, username: s.username, registrationCode: s.boot.registrationCode });

      assert.equal(typeof signerOptions.credId, 'string');
      assert.equal(res.user?.id, s.userId, 'registration response user.id');
      assert.equal(res.user?.username, s.username, 'registration response user.username');
      assert.equal(res.user?.orgId, s.orgId, 'registration response user.orgId');
      assert.equal(typeof res.credential?.uuid, 'string', 'registration response credential.uuid');
      assert.equal(res.credential.kind, 'Key', 'registration response credential.kind (SDK type field name)');

      const xs = sinceMark(mark);
      assert.deepEqual(xs.map((x) => `${x.method} ${x.path} ${x.status}`), ['POST /auth/registration/init 200', 'POST /auth/registration 200']);
      const init = JSON.parse(xs[0].resBody);
      assert.equal(init.user?.id, s.userId, 'registration challenge user.id');
      assert.equal(xs[1].reqHeaders.authorization, `Bearer ${init.temporaryAuthenticationToken}`);

      s.p256 = { keyPair, credId: signerOptions.credId, privateKeyPem: keys.cryptoKeyToPkcs8Pem(keyPair.privateKey) };
      s.cred1Uuid = res.credential.uuid;
      t.diagnostic(`credential 1 (P-256): credId ${s.p256.credId}, uuid ${s.cred1Uuid}`);
    });

    step('a used registration code cannot register again', ['p256'], async () => {
      const again = new DfnsAuthenticator({ baseUrl: server.baseUrl, signer: new BrowserKeySigner({ keyPair: s.p256.keyPair }) });
      const err = await expectDfnsError(
        again.register({ orgId: s.orgId, username: s.username, registrationCode: s.boot.registrationCode }),
        'second registration with the same code',
      );
      assert.ok(err.httpStatus >= 400 && err.httpStatus < 500, `expected 4xx, got ${err.httpStatus}`);
    });

    step('logs in with DfnsAuthenticator + AsymmetricKeySigner (same P-256 key)', ['p256'], async (t, mark) => {
      s.signer1 = new AsymmetricKeySigner({ credId: s.p256.credId, privateKey: s.p256.privateKeyPem });
      const authenticator = new DfnsAuthenticator({ baseUrl: server.baseUrl, orgId: s.orgId, signer: s.signer1 });
      const { token } = await authenticator.login({ username: s.username, orgId: s.orgId });
      assert.equal(typeof token, 'string');

      const xs = sinceMark(mark);
      assert.deepEqual(xs.map((x) => `${x.method} ${x.path} ${x.status}`), ['POST /auth/login/init 200', 'POST /auth/login 200']);
      const challenge = JSON.parse(xs[0].resBody);
      assert.equal(typeof challenge.challenge, 'string');
      assert.equal(typeof challenge.challengeIdentifier, 'string');
      assert.ok(Array.isArray(challenge.allowCredentials?.webauthn), 'allowCredentials.webauthn must be an array');
      assert.deepEqual(challenge.allowCredentials.key.map((c) => c.id), [s.p256.credId]);

      const { payload } = keys.decodeJwt(token);
      const meta = payload['https://custom/app_metadata'];
      assert.equal(meta?.orgId, s.orgId, 'token app_metadata.orgId');
      assert.equal(meta?.userId, s.userId, 'token app_metadata.userId');
      assert.equal(meta?.tokenKind, 'Token', 'token app_metadata.tokenKind');
      s.token = token;
      s.client = new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: token, signer: s.signer1 });
    });

    step(`every request carries x-dfns-sdk-version: ${expectedSdkVersion}`, ['token'], () => {
      assert.ok(httpLog.length > 0);
      for (const x of httpLog) {
        assert.equal(x.reqHeaders['x-dfns-sdk-version'], expectedSdkVersion, `#${x.seq} ${x.method} ${x.path}`);
      }
    });

    step('GET /.well-known/jwks.json serves the key that signed the login token', ['token'], async (t) => {
      const res = await fetch(`${server.baseUrl}/.well-known/jwks.json`);
      const text = await res.text();
      assert.equal(res.status, 200, `JWKS status; body: ${text.slice(0, 500)}`);
      const jwks = JSON.parse(text);
      assert.ok(Array.isArray(jwks.keys) && jwks.keys.length > 0, 'JWKS has keys');
      const { header, payload, jwk } = keys.verifyJwtWithJwks(s.token, jwks);
      assert.equal(header.alg, 'EdDSA');
      assert.equal(jwk.kty, 'OKP');
      assert.equal(jwk.crv, 'Ed25519');
      assert.equal(payload.sub, s.orgId, 'sub = org id');
      assert.ok(payload.exp > Date.now() / 1000, 'exp in the future');
      t.diagnostic(`login token kid ${header.kid}, ${jwks.keys.length} JWKS key(s)`);
    });

    step('auth.getUser returns the registered user', ['client'], async () => {
      const user = await s.client.auth.getUser({ userId: s.userId });
      assert.equal(user.userId, s.userId);
      assert.equal(user.username, s.username);
      assert.equal(user.orgId, s.orgId);
      assert.equal(user.kind, 'CustomerEmployee');
      assert.equal(user.isActive, true);
      assert.equal(user.isRegistered, true);
      assert.equal(user.isServiceAccount, false);
      assert.ok(Array.isArray(user.permissionAssignments), 'permissionAssignments is an array');
    });

    step('auth.listCredentials shows the registration credential', ['client'], async () => {
      const { items } = await s.client.auth.listCredentials();
      assert.ok(Array.isArray(items));
      assert.equal(items.length, 1, JSON.stringify(items));
      const [c] = items;
      assert.equal(c.kind, 'Key');
      assert.equal(c.credentialId, s.p256.credId);
      assert.equal(c.credentialUuid, s.cred1Uuid);
      assert.equal(c.isActive, true);
    });

    step('adds a second Key credential (Ed25519) via createCredentialChallenge + user-action-signed createCredential', ['client'], async (t, mark) => {
      const challenge = await s.client.auth.createCredentialChallenge({ body: { kind: 'Key' } });
      assert.equal(challenge.kind, 'Key');
      assert.equal(typeof challenge.challenge, 'string');
      assert.equal(typeof challenge.challengeIdentifier, 'string');

      const ed = keys.generateEd25519();
      const credId = keys.b64url(require('node:crypto').randomBytes(32));
      const attestation = keys.ed25519KeyAttestation({ challenge, credId, ...ed });
      const uaMark = httpLog.length;
      const created = await s.client.auth.createCredential({
        body: { ...attestation, credentialName: 'interop ed25519', challengeIdentifier: challenge.challengeIdentifier },
      });
      assertUserActionFlow(uaMark, 'POST', '/auth/credentials');
      assert.equal(created.kind, 'Key');
      assert.equal(created.credentialId, credId);
      assert.equal(created.isActive, true);
      assert.equal(created.name, 'interop ed25519');
      assert.equal(typeof created.credentialUuid, 'string');
      assert.notEqual(created.credentialUuid, s.cred1Uuid);
      s.ed = { ...ed, credId, uuid: created.credentialUuid };
      s.signer2 = new AsymmetricKeySigner({ credId, privateKey: ed.privateKeyPem });
      s.client2 = new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: s.token, signer: s.signer2 });
      t.diagnostic(`credential 2 (Ed25519): credId ${credId}, uuid ${created.credentialUuid}`);
    });

    step('listCredentials shows both credentials active', ['ed'], async () => {
      const { items } = await s.client.auth.listCredentials();
      const byUuid = Object.fromEntries(items.map((c) => [c.credentialUuid, c]));
      assert.equal(items.length, 2, JSON.stringify(items));
      assert.equal(byUuid[s.cred1Uuid]?.isActive, true);
      assert.equal(byUuid[s.ed.uuid]?.isActive, true);
      assert.equal(byUuid[s.ed.uuid]?.credentialId, s.ed.credId);
    });

    step('the Ed25519 credential signs a user action (activateCredential on itself, idempotent)', ['ed'], async (t, mark) => {
      const res = await s.client2.auth.activateCredential({ body: { credentialUuid: s.ed.uuid } });
      assert.equal(typeof res.message, 'string');
      const fin = assertUserActionFlow(mark, 'PUT', '/auth/credentials/activate');
      const sign = sinceMark(mark).find((x) => x.path === '/auth/action');
      assert.equal(JSON.parse(sign.reqBody).firstFactor.credentialAssertion.credId, s.ed.credId);
      s.replay = { url: fin.url, method: fin.method, headers: fin.reqHeaders, body: fin.reqBody };
    });

    step('a user-action token is single use (replaying the exact request is refused)', ['replay'], async () => {
      const res = await fetch(s.replay.url, { method: s.replay.method, headers: s.replay.headers, body: s.replay.body });
      const text = await res.text();
      // spec 4.5 / 12.3: replayed → 400 "user action has already been used".
      assert.equal(res.status, 400, `replay got ${res.status}: ${text}`);
      const body = JSON.parse(text);
      assert.equal(body?.error?.message, 'user action has already been used', text);
    });

    step('deactivateCredential (credential 1 signing through BrowserKeySigner.sign) → listCredentials shows it inactive', ['ed'], async (t, mark) => {
      // Same P-256 credential, but the assertion comes from @dfns/sdk-browser's BrowserKeySigner.sign
      // (WebCrypto raw r‖s converted to DER by rawSignatureToAns1) instead of node:crypto.
      const browserClient = new DfnsApiClient({
        baseUrl: server.baseUrl,
        orgId: s.orgId,
        authToken: s.token,
        signer: new BrowserKeySigner({ keyPair: s.p256.keyPair, credId: s.p256.credId }),
      });
      const res = await browserClient.auth.deactivateCredential({ body: { credentialUuid: s.ed.uuid } });
      assert.equal(typeof res.message, 'string');
      assertUserActionFlow(mark, 'PUT', '/auth/credentials/deactivate');
      const { items } = await s.client.auth.listCredentials();
      const byUuid = Object.fromEntries(items.map((c) => [c.credentialUuid, c]));
      assert.equal(byUuid[s.ed.uuid]?.isActive, false, JSON.stringify(items));
      assert.equal(byUuid[s.cred1Uuid]?.isActive, true, JSON.stringify(items));
      s.deactivated = true;
    });

    step('a signed call made with the deactivated credential fails with a DfnsError', ['deactivated'], async (t) => {
      // 1) Through the SDK as an app would use it.
      const err = await expectDfnsError(
        s.client2.auth.activateCredential({ body: { credentialUuid: s.ed.uuid } }),
        'activateCredential signed by the deactivated credential',
      );
      t.diagnostic(`SDK path: DfnsError httpStatus ${err.httpStatus}: ${err.message}`);
      // 2) The server itself must refuse the assertion, even if a client ignores allowCredentials
      //    (AsymmetricKeySigner refuses locally with httpStatus -1 when the credId is not listed).
      const apiOptions = { baseUrl: server.baseUrl, orgId: s.orgId, authToken: s.token };
      const challenge = await BaseAuthApi.createUserActionChallenge(
        {
          userActionPayload: JSON.stringify({ credentialUuid: s.ed.uuid }),
          userActionHttpMethod: 'PUT',
          userActionHttpPath: '/auth/credentials/activate',
          userActionServerKind: 'Api',
        },
        apiOptions,
      );
      const allowed = challenge.allowCredentials.key.map((c) => c.id);
      assert.ok(!allowed.includes(s.ed.credId), `allowCredentials.key must not list a deactivated credential: ${allowed}`);
      const forced = await s.signer2.sign({
        ...challenge,
        allowCredentials: { ...challenge.allowCredentials, key: [...challenge.allowCredentials.key, { type: 'public-key', id: s.ed.credId }] },
      });
      const serverErr = await expectDfnsError(
        BaseAuthApi.signUserActionChallenge({ challengeIdentifier: challenge.challengeIdentifier, firstFactor: forced }, apiOptions),
        'POST /auth/action with a deactivated credential',
      );
      // spec 12.10: every authentication failure is the same 401.
      assert.equal(serverErr.httpStatus, 401, `server must refuse the assertion with 401, got ${serverErr.httpStatus}`);
      assert.equal(typeof serverErr.message, 'string');
      t.diagnostic(`server path: DfnsError httpStatus ${serverErr.httpStatus}: ${serverErr.message}`);
    });

    step('activateCredential (signed by credential 1) → active again and usable', ['deactivated'], async (t, mark) => {
      const res = await s.client.auth.activateCredential({ body: { credentialUuid: s.ed.uuid } });
      assert.equal(typeof res.message, 'string');
      assertUserActionFlow(mark, 'PUT', '/auth/credentials/activate');
      const { items } = await s.client.auth.listCredentials();
      const byUuid = Object.fromEntries(items.map((c) => [c.credentialUuid, c]));
      assert.equal(items.length, 2);
      assert.equal(byUuid[s.ed.uuid]?.isActive, true, JSON.stringify(items));
      assert.equal(byUuid[s.cred1Uuid]?.isActive, true, JSON.stringify(items));
      // The reactivated Ed25519 key can sign again.
      const again = await s.client2.auth.activateCredential({ body: { credentialUuid: s.ed.uuid } });
      assert.equal(typeof again.message, 'string');
    });

    // PATs, service accounts, users, permissions and assignments (suite/identities.js).
    defineIdentitySteps({
      step,
      s,
      server,
      sdk: { DfnsApiClient, DfnsAuthenticator, AsymmetricKeySigner, BrowserKeySigner },
      expectDfnsError,
      assertUserActionFlow,
      sinceMark,
      httpLog,
      keys,
      expectedSdkVersion,
    });

    // The audit log of every user-action-signed call above (suite/audit.js).
    defineAuditSteps({
      step,
      s,
      server,
      sdk: { DfnsApiClient, DfnsAuthenticator, AsymmetricKeySigner, BrowserKeySigner },
      expectDfnsError,
      sinceMark,
      httpLog,
      keys,
    });

    // Escalation prevention (suite/escalation.js), after the audit steps so they count none of it.
    defineEscalationSteps({
      step,
      s,
      server,
      sdk: { DfnsApiClient, DfnsAuthenticator, AsymmetricKeySigner, BrowserKeySigner },
      expectDfnsError,
      sinceMark,
      keys,
    });

    // Issue 14 surface (suite/surface.js).
    defineSurfaceSteps({
      step,
      s,
      server,
      sdk: { DfnsApiClient, AsymmetricKeySigner },
      expectDfnsError,
      keys,
    });

    // Policies and approvals (suite/policies.js).
    definePolicySteps({
      step,
      s,
      server,
      sdk: { DfnsApiClient, DfnsAuthenticator, AsymmetricKeySigner, BrowserKeySigner, PolicyPendingError: sdk.PolicyPendingError },
      expectDfnsError,
      keys,
    });
    // Issue 14 social login and SSO (suite/oidc.js).
    defineOidcSteps({ step, s, server, sdk: { DfnsApiClient, DfnsDelegatedApiClient: sdk.DfnsDelegatedApiClient }, expectDfnsError, keys });
    // Issue 14 login codes and PasswordProtectedKeys (suite/codes.js).
    defineCodeSteps({ step, s, server, sdk: { DfnsApiClient, AsymmetricKeySigner }, expectDfnsError, keys, mailbox });
    if (coverage.enforced) defineEverySteps({ step, s, server, sdk: { ...sdk, AsymmetricKeySigner }, keys, mailbox });

    // Issue 11: one answer for known and unknown users, 429 under a flood (suite/abuse.js).
    defineAbuseSteps({
      step,
      s,
      server,
      sdk: { BaseAuthApi, AsymmetricKeySigner, DfnsAuthenticator },
      expectDfnsError,
      sinceMark,
      keys,
    });

    step('logout, then the old token is refused with 401', ['client'], async (t, mark) => {
      const res = await s.client.auth.logout();
      assert.equal(typeof res.message, 'string');
      const [x] = sinceMark(mark);
      assert.equal(`${x.method} ${x.path} ${x.status}`, 'PUT /auth/logout 200');
      for (const [what, call] of [
        ['getUser', () => s.client.auth.getUser({ userId: s.userId })],
        ['listCredentials', () => s.client.auth.listCredentials()],
      ]) {
        const err = await expectDfnsError(call(), `${what} with the logged-out token`);
        assert.equal(err.httpStatus, 401, `${what} after logout: ${err.message}`);
      }
    });

    if (coverage.enforced) defineCoverageStep({ it, coverage });
  });
};
