'use strict';
// Issue 14 social login and SSO steps: the four SDK methods (createSocialRegistrationChallenge,
// socialLogin, ssoLoginInit, ssoLogin) against a real OpenID provider on loopback
// (test/oidcprovider, started by run.sh: SIGNET_INTEROP_OIDC is its JSON line {issuer, helpers}).
// The org trusts it through `signet oidc add`, run like bootstrap on the server's database.
// A step whose SDK method this version lacks is skipped.

const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');
const { execFile } = require('node:child_process');

const SSO_REDIRECT = 'http://localhost:5555/sso/callback';

module.exports = function defineOidcSteps(ctx) {
  const { step, s, server, sdk, expectDfnsError, keys } = ctx;
  const { DfnsApiClient, DfnsDelegatedApiClient } = sdk;
  const suffix = nodeCrypto.randomBytes(3).toString('hex');
  const idp = process.env.SIGNET_INTEROP_OIDC ? JSON.parse(process.env.SIGNET_INTEROP_OIDC) : null;
  const plain = () => new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId });
  const has = (name) => typeof plain().auth[name] === 'function';
  const helper = async (path, body) => {
    const res = await fetch(`${idp.helpers}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    const out = await res.json();
    assert.equal(res.status, 200, `provider helper ${path}: ${JSON.stringify(out)}`);
    return out;
  };
  const idToken = async (email) => (await helper('/oidctest/id-token', { clientId: 'signet', clientSecret: 's3cret', email, password: 'pw' })).idToken;

  step('signet oidc add: the org trusts the test OpenID provider', ['client'], async (t) => {
    if (!idp) return t.skip('SIGNET_INTEROP_OIDC not set (run.sh starts the provider)');
    const out = await new Promise((resolve, reject) => {
      execFile(server.bin, ['oidc', 'add', '--database', server.db.url, '--org', s.orgId, '--issuer', idp.issuer, '--client-id', 'signet'],
        { cwd: server.tmpDir, timeout: 60_000, env: { ...process.env, SIGNET_OIDC_CLIENT_SECRET: 's3cret' } },
        (error, stdout, stderr) => (error ? reject(new Error(`signet oidc add: ${error.message}\n${stderr}`)) : resolve(stdout)));
    });
    const p = JSON.parse(out);
    assert.equal(p.clientId, 'signet');
    assert.equal(p.hasSecret, true);
    assert.ok(!out.includes('s3cret'), 'oidc add printed the secret');
    s.oidc = p;
  });

  step('createSocialRegistrationChallenge + register: a new end user signs up with an ID token', ['oidc'], async (t) => {
    if (!has('createSocialRegistrationChallenge')) return t.skip('no createSocialRegistrationChallenge in this SDK');
    const email = `social-${suffix}@interop.test`;
    const ch = await plain().auth.createSocialRegistrationChallenge({ body: { orgId: s.orgId, socialLoginProviderKind: 'Oidc', idToken: await idToken(email) } });
    assert.equal(typeof ch.temporaryAuthenticationToken, 'string', JSON.stringify(ch));
    assert.equal(ch.user.name, email);
    const key = keys.generateEd25519();
    const temp = new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: ch.temporaryAuthenticationToken });
    const reg = await temp.auth.register({ body: { firstFactorCredential: keys.ed25519KeyAttestation({ challenge: ch, credId: `soc-${suffix}`, ...key }) } });
    assert.equal(reg.user.username, email);
    s.socialEmail = email;
  });

  step('socialLogin: the ID token logs the user in; a forged one gets 401', ['socialEmail'], async (t) => {
    if (!has('socialLogin')) return t.skip('no socialLogin in this SDK');
    const tok = await idToken(s.socialEmail);
    const { token } = await plain().auth.socialLogin({ body: { orgId: s.orgId, socialLoginProviderKind: 'Oidc', idToken: tok } });
    const me = new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: token });
    const creds = await me.auth.listCredentials();
    assert.equal(creds.items.length, 1);
    const [h, p, sig] = tok.split('.');
    const forged = `${h}.${p}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const err = await expectDfnsError(plain().auth.socialLogin({ body: { orgId: s.orgId, socialLoginProviderKind: 'Oidc', idToken: forged } }), 'forged idToken');
    assert.equal(err.httpStatus, 401);
  });

  step('ssoLoginInit + ssoLogin: the code flow with PKCE at the provider logs the admin in; the state is single use', ['oidc'], async (t) => {
    if (!has('ssoLoginInit') || !has('ssoLogin')) return t.skip('no ssoLoginInit/ssoLogin in this SDK');
    const init = await plain().auth.ssoLoginInit({ body: { orgId: s.orgId, clientId: 'signet', redirectUri: SSO_REDIRECT } });
    const u = new URL(init.ssoRedirectUrl);
    assert.ok(init.ssoRedirectUrl.startsWith(idp.issuer), init.ssoRedirectUrl);
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    const { location } = await helper('/oidctest/login', { url: init.ssoRedirectUrl, email: s.username, password: 'pw' });
    const back = new URL(location);
    assert.equal(`${back.origin}${back.pathname}`, SSO_REDIRECT);
    const body = { code: back.searchParams.get('code'), state: back.searchParams.get('state') };
    const { token } = await plain().auth.ssoLogin({ body });
    const me = new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: token });
    const user = await me.auth.getUser({ userId: s.userId });
    assert.equal(user.username, s.username);
    const err = await expectDfnsError(plain().auth.ssoLogin({ body }), 'replayed state');
    assert.equal(err.httpStatus, 401);
  });
  // The delegated client (a backend acting for its end users) has the same four public methods;
  // they carry the backend's token, which these routes neither need nor trust.
  step('delegated client: social registration, social login and SSO through DfnsDelegatedApiClient', ['socialEmail'], async (t) => {
    if (!DfnsDelegatedApiClient) return t.skip('no DfnsDelegatedApiClient in this SDK');
    const d = new DfnsDelegatedApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: s.token });
    if (typeof d.auth.ssoLogin !== 'function') return t.skip('no social/SSO methods on the delegated client of this SDK');
    const email = `social-d-${suffix}@interop.test`;
    const ch = await d.auth.createSocialRegistrationChallenge({ body: { orgId: s.orgId, socialLoginProviderKind: 'Oidc', idToken: await idToken(email) } });
    assert.equal(ch.user.name, email);
    const { token } = await d.auth.socialLogin({ body: { orgId: s.orgId, socialLoginProviderKind: 'Oidc', idToken: await idToken(s.socialEmail) } });
    assert.equal(typeof token, 'string');
    const init = await d.auth.ssoLoginInit({ body: { orgId: s.orgId, clientId: 'signet', redirectUri: SSO_REDIRECT } });
    const { location } = await helper('/oidctest/login', { url: init.ssoRedirectUrl, email: s.username, password: 'pw' });
    const back = new URL(location);
    const sso = await d.auth.ssoLogin({ body: { code: back.searchParams.get('code'), state: back.searchParams.get('state') } });
    assert.equal(typeof sso.token, 'string');
  });
};
