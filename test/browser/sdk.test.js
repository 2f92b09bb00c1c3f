'use strict';
// (b) The official @dfns/sdk-browser WebAuthnSigner (with @dfns/sdk's DfnsAuthenticator and
// DfnsApiClient), unchanged and bundled by esbuild, in headless Chromium with a virtual passkey
// authenticator. The test page lives on its own origin (a tiny static server on another port),
// so every API call is a cross-origin call through signet's CORS (--cors-origin), and its
// passkeys are verified against an allowed --origin other than signet's own.

const path = require('node:path');
const os = require('node:os');
const fs = require('node:fs');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const signet = new h.Signet();
const s = {};
let browser;
let page;
let rec;
let auth;
let site;
let bundleDir;

const { step, failures } = h.stepper({ it, state: s, page: () => page, log: () => rec, name: 'sdk' });

// sdk calls window.sdkTest[fn](...args) in the page and returns the value or throws the SDK error.
async function sdk(fn, ...args) {
  const r = await page.evaluate(([f, a]) => {
    const parts = f.split('.');
    return window.sdkTest[parts[0]](...a);
  }, [fn, args]);
  if (!r.ok) {
    const e = r.error;
    throw new Error(`${fn} threw ${e.name}${e.dfns ? ` (DfnsError, HTTP ${e.httpStatus})` : ''}: ${e.message}${e.context ? `\ncontext: ${JSON.stringify(e.context)}` : ''}`);
  }
  return r.value;
}

describe('official @dfns/sdk-browser WebAuthnSigner against signet in headless Chromium', () => {
  before(async () => {
    bundleDir = await h.bundleSdkPage(fs.mkdtempSync(path.join(os.tmpdir(), 'signet-sdk-page-')));
    site = await h.staticServer(bundleDir);
    await signet.start({ extraOrigins: [site.origin] });
    browser = await h.launchBrowser();
    page = await (await browser.newContext()).newPage();
    rec = h.recordExchanges(page);
    auth = await h.addAuthenticator(page);
  }, { timeout: 600_000 });

  after(async () => {
    if (failures() > 0) process.stderr.write(`\n=== signet log (${signet.logFile}) ===\n${signet.tail()}\n`);
    if (browser) await browser.close();
    if (site) await site.close();
    if (!process.env.SIGNET_SDK_PAGE && bundleDir) fs.rmSync(bundleDir, { recursive: true, force: true });
    await signet.stop({ keep: failures() > 0 });
  });

  step('the test page loads the bundled @dfns/sdk 0.8.21 and @dfns/sdk-browser 0.6.12 from its own origin', [], async (t) => {
    const res = await page.goto(`${site.origin}/`);
    assert.equal(res.status(), 200);
    const v = await page.evaluate(() => window.sdkTest.versions);
    assert.deepEqual(v, { sdk: '0.8.21', sdkBrowser: '0.6.12' });
    t.diagnostic(`test page ${site.origin}, signet ${signet.origin}`);
    s.page = true;
  });

  step('signet bootstrap', [], async () => {
    s.boot = await signet.bootstrap({ orgName: 'SDK Org', username: `sdk-${Date.now()}@browser.test` });
  });

  step('DfnsAuthenticator.register with WebAuthnSigner creates a passkey (cross-origin)', ['page', 'boot'], async () => {
    const res = await sdk('register', { baseUrl: signet.origin, orgId: s.boot.orgId, username: s.boot.username, registrationCode: s.boot.registrationCode });
    assert.equal(res.user?.id, s.boot.userId);
    assert.equal(res.credential?.kind, 'Fido2', `registration response: ${JSON.stringify(res)}`);
    const creds = await auth.credentials();
    assert.equal(creds.length, 1);
    assert.equal(creds[0].rpId, 'localhost');
    s.registered = true;
  });

  step('DfnsAuthenticator.login with WebAuthnSigner returns a login token', ['registered'], async () => {
    const { token } = await sdk('login', { baseUrl: signet.origin, orgId: s.boot.orgId, username: s.boot.username });
    assert.equal(typeof token, 'string');
    s.token = token;
    s.conn = { baseUrl: signet.origin, orgId: s.boot.orgId, token };
  });

  step('DfnsApiClient.auth.listCredentials shows the passkey (plain cross-origin GET)', ['conn'], async () => {
    const { items } = await sdk('client', s.conn, 'auth', 'listCredentials');
    assert.equal(items.length, 1);
    assert.equal(items[0].kind, 'Fido2');
    assert.equal(items[0].isActive, true);
  });

  step('DfnsApiClient.permissions.createPermission, user-action signed by WebAuthnSigner', ['conn'], async () => {
    const mark = rec.log.length;
    const p = await sdk('client', s.conn, 'permissions', 'createPermission', { body: { name: `sdk-browser-${Date.now()}`, operations: ['Auth:Users:Read'] } });
    assert.match(p.id, /^pm-/);
    const xs = rec.log.slice(mark).filter((x) => x.method !== 'OPTIONS').map((x) => `${x.method} ${x.path} ${x.status}${x.userAction ? ' UA' : ''}`);
    assert.deepEqual(xs, ['POST /auth/action/init 200', 'POST /auth/action 200', 'POST /permissions 200 UA']);
    const action = rec.log.slice(mark).find((x) => x.path === '/auth/action');
    assert.equal(JSON.parse(action.reqBody).firstFactor.kind, 'Fido2');
    s.permission = p;
  });

  step('DfnsApiClient.auth.createPersonalAccessToken, user-action signed by WebAuthnSigner', ['conn'], async () => {
    const { publicKey } = require('node:crypto').generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).trim();
    const pat = await sdk('client', s.conn, 'auth', 'createPersonalAccessToken', { body: { name: 'sdk-pat', publicKey: pem } });
    assert.equal(typeof pat.accessToken, 'string');
    assert.match(pat.tokenId, /^to-/);
  });

  step('a second login and a signed call work again with the same passkey (sign count moves on)', ['conn'], async () => {
    const { token } = await sdk('login', { baseUrl: signet.origin, orgId: s.boot.orgId, username: s.boot.username });
    const conn = { ...s.conn, token };
    const p = await sdk('client', conn, 'permissions', 'createPermission', { body: { name: `sdk-browser-2-${Date.now()}`, operations: ['Auth:Users:Read'] } });
    assert.match(p.id, /^pm-/);
  });

  step('a passkey made on an origin that is not a configured --origin is refused (CORS allowed, WebAuthn origin not)', ['page'], async (t) => {
    const other = new h.Signet();
    try {
      await other.start({ corsOnly: [site.origin] });
      const boot = await other.bootstrap({ orgName: 'Other Org', username: `other-${Date.now()}@browser.test` });
      const mark = rec.log.length;
      await assert.rejects(
        sdk('register', { baseUrl: other.origin, orgId: boot.orgId, username: boot.username, registrationCode: boot.registrationCode }),
        /DfnsError, HTTP 4\d\d/,
      );
      const xs = rec.log.slice(mark).filter((x) => x.method !== 'OPTIONS').map((x) => `${x.method} ${x.path} ${x.status}`);
      assert.equal(xs[0], 'POST /auth/registration/init 200');
      assert.match(xs[1], /^POST \/auth\/registration 4\d\d$/);
      const refused = rec.log.slice(mark).filter((x) => x.method !== 'OPTIONS')[1];
      await refused.done;
      t.diagnostic(`signet answered: ${xs[1]} ${refused.resBody}`);
    } finally {
      await other.stop();
    }
  });

  step('a page on an origin signet does not allow is refused by CORS', ['conn'], async () => {
    // The static server is reachable as 127.0.0.1 too: same files, another origin.
    const other = site.origin.replace('localhost', '127.0.0.1');
    await page.goto(`${other}/`);
    const r = await page.evaluate(async ([url, token]) => {
      try {
        await fetch(`${url}/auth/credentials`, { headers: { Authorization: `Bearer ${token}` } });
        return 'fetched';
      } catch (e) {
        return `blocked: ${e.message}`;
      }
    }, [signet.origin, s.token]);
    assert.match(r, /^blocked/);
    await page.goto(`${site.origin}/`);
  });
});
