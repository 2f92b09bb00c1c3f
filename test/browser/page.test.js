'use strict';
// (a) signet's own web page, end to end in headless Chromium with a virtual passkey
// authenticator: sign up with a registration code and a passkey, log out, log in, add a Key
// credential and deactivate it, add a second passkey, create / list / revoke a personal access
// token, create / list / deactivate a service account. Every change is user-action signed by
// the page with a passkey; tokens and keys the page shows once are checked against the API.

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const signet = new h.Signet();
const s = {}; // state produced by the steps
let browser;
let page;
let rec;
let auth;

const { step, failures } = h.stepper({ it, state: s, page: () => page, log: () => rec, name: 'page' });

// outcome waits until the page's status line matches re, or its error line shows something.
async function outcome(re, timeout = 30_000) {
  const handle = await page.waitForFunction(
    (src) => {
      const err = document.getElementById('error');
      if (!err.hidden && err.textContent) return { error: err.textContent };
      const st = document.getElementById('status').textContent;
      return new RegExp(src).test(st) ? { status: st } : false;
    },
    re.source,
    { timeout },
  );
  const v = await handle.jsonValue();
  if (v.error) throw new Error(`the page shows an error: ${v.error}`);
  return v.status;
}

const region = (name) => page.getByRole('region', { name, exact: true });
const row = (table, text) => page.locator(`#${table} tbody tr`, { hasText: text });

// Reads the one-time secret panel: {label: value}.
async function secretValues() {
  const box = page.locator('#secret');
  await box.waitFor({ state: 'visible' });
  return box.evaluate((el) => {
    const out = {};
    for (const ta of el.querySelectorAll('textarea')) out[el.querySelector(`label[for="${ta.id}"]`).textContent] = ta.value;
    return out;
  });
}

async function dismissSecret() {
  await page.getByRole('button', { name: 'I have saved it; hide the secret' }).click();
  await page.locator('#secret').waitFor({ state: 'hidden' });
}

async function api(method, p, token, body) {
  const res = await fetch(`${signet.origin.replace('localhost', '127.0.0.1')}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

describe('signet web page in headless Chromium (virtual passkey authenticator)', () => {
  before(async () => {
    await signet.start();
    browser = await h.launchBrowser();
    const context = await browser.newContext();
    page = await context.newPage();
    rec = h.recordExchanges(page);
    auth = await h.addAuthenticator(page);
  }, { timeout: 600_000 });

  after(async () => {
    if (failures() > 0) process.stderr.write(`\n=== signet log (${signet.logFile}) ===\n${signet.tail()}\n`);
    if (browser) await browser.close();
    await signet.stop({ keep: failures() > 0 });
  });

  step('signet bootstrap gives an org, a user and a registration code', [], async () => {
    s.boot = await signet.bootstrap({ orgName: 'Browser Org', username: `admin-${Date.now()}@browser.test` });
    for (const k of ['orgId', 'userId', 'username', 'registrationCode']) assert.equal(typeof s.boot[k], 'string', k);
  });

  step('GET / serves the page with a strict CSP and security headers; no console errors', [], async () => {
    const res = await page.goto(`${signet.origin}/`);
    assert.equal(res.status(), 200, 'GET / status (is internal/web mounted at / ?)');
    const hd = res.headers();
    assert.match(hd['content-type'], /^text\/html/);
    assert.match(hd['content-security-policy'] || '', /default-src 'self'/);
    assert.doesNotMatch(hd['content-security-policy'] || '', /unsafe-inline/);
    assert.equal(hd['x-content-type-options'], 'nosniff');
    assert.equal(hd['referrer-policy'], 'no-referrer');
    assert.equal(hd['x-frame-options'], 'DENY');
    await region('Log in').waitFor();
    await region('Sign up').waitFor();
    const errors = rec.consoleLines.filter((l) => /^\[(error|pageerror)\]/.test(l));
    assert.deepEqual(errors, [], 'browser console errors (CSP violations show here)');
    s.pageUp = true;
  });

  step('signs up with the registration code and a new passkey, and is logged in', ['boot', 'pageUp'], async () => {
    const f = region('Sign up');
    await f.getByLabel('Organization id').fill(s.boot.orgId);
    await f.getByLabel('Username').fill(s.boot.username);
    await f.getByLabel('Registration code').fill(s.boot.registrationCode);
    await f.getByRole('button', { name: 'Sign up with a passkey' }).click();
    await outcome(/Signed up and logged in/);
    const creds = await auth.credentials();
    assert.equal(creds.length, 1, 'the virtual authenticator holds one passkey');
    assert.equal(Buffer.from(creds[0].userHandle, 'base64').toString(), s.boot.userId, 'passkey user handle = us-… id');
    assert.equal(await page.locator('#who-name').textContent(), s.boot.username);
    await row('creds-table', 'Passkey').first().waitFor();
    s.token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('signet.session')).token);
    assert.equal(typeof s.token, 'string');
    s.signedUp = true;
  });

  step('writes a screenshot after login to out/page-after-login.png', ['signedUp'], async () => {
    fs.mkdirSync(h.OUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(h.OUT_DIR, 'page-after-login.png'), fullPage: true });
  });

  step('logs out: the session is gone and the old token is refused', ['signedUp'], async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await outcome(/Logged out/);
    await region('Log in').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('signet.session')), null);
    const r = await api('GET', '/auth/credentials', s.token);
    assert.equal(r.status, 401, `old token after logout: ${r.text}`);
    s.loggedOut = true;
  });

  step('logs in with the passkey (org and username remembered)', ['loggedOut'], async () => {
    const f = region('Log in');
    assert.equal(await f.getByLabel('Organization id').inputValue(), s.boot.orgId);
    assert.equal(await f.getByLabel('Username').inputValue(), s.boot.username);
    await f.getByRole('button', { name: 'Log in with a passkey' }).click();
    await outcome(/Logged in as/);
    s.token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('signet.session')).token);
    s.loggedIn = true;
  });

  step('a reload keeps the session (sessionStorage) and lists the credentials', ['loggedIn'], async () => {
    await page.reload();
    await outcome(/Logged in as/);
    assert.equal(await row('creds-table', 'Passkey').count(), 1);
  });

  step('adds a Key credential (WebCrypto P-256, passkey-signed); its private key is shown once and logs in', ['loggedIn'], async () => {
    const f = region('Credentials');
    await f.getByLabel('New key name').fill('Laptop key');
    await f.getByRole('button', { name: 'Add a key' }).click();
    await outcome(/Key Laptop key added/);
    const secret = await secretValues();
    const pem = secret['Private key (PKCS#8 PEM)'];
    const credId = secret['Credential id'];
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----$/);
    assert.ok(credId.length > 20);
    await row('creds-table', 'Laptop key').waitFor();
    assert.match(await row('creds-table', 'Laptop key').textContent(), /Key.*Active/);
    // The private key really is the credential's: log in with it outside the browser (spec 3.3).
    const init = await (await fetch(`http://127.0.0.1:${signet.port}/auth/login/init`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: s.boot.username, orgId: s.boot.orgId }),
    })).json();
    assert.ok(init.allowCredentials.key.some((c) => c.id === credId), `login challenge lists the new key: ${JSON.stringify(init.allowCredentials)}`);
    const clientData = JSON.stringify({ type: 'key.get', challenge: init.challenge });
    const signature = crypto.sign('sha256', Buffer.from(clientData), crypto.createPrivateKey(pem));
    const login = await fetch(`http://127.0.0.1:${signet.port}/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ challengeIdentifier: init.challengeIdentifier, firstFactor: { kind: 'Key', credentialAssertion: { credId, clientData: Buffer.from(clientData).toString('base64url'), signature: signature.toString('base64url') } } }),
    });
    assert.equal(login.status, 200, `login with the downloaded key: ${await login.text()}`);
    await dismissSecret();
    s.keyCred = credId;
  });

  step('deactivates the Key credential (passkey-signed)', ['keyCred'], async () => {
    await page.getByRole('button', { name: 'Deactivate credential Laptop key' }).click();
    await outcome(/Credential Laptop key deactivated/);
    assert.match(await row('creds-table', 'Laptop key').textContent(), /Inactive/);
    const r = await api('GET', '/auth/credentials', s.token);
    const c = r.body.items.find((i) => i.credentialId === s.keyCred);
    assert.equal(c.isActive, false);
  });

  step('the only active passkey cannot be deactivated from the page', ['loggedIn'], async () => {
    const r = row('creds-table', 'Passkey').first();
    assert.equal(await r.getByRole('button').count(), 0);
    assert.match(await r.textContent(), /Your only passkey/);
  });

  step('adds a second passkey (created on a second authenticator, signed by the first)', ['loggedIn'], async () => {
    // Chrome allows one internal virtual authenticator, so the new passkey goes on a 'usb' one.
    // Only it may answer the create (the first holds an excluded credential), and only the
    // first may answer the signature (the new one has no allowed credential and would refuse
    // it), so the switch happens while the page's /auth/action/init is held back.
    const second = await h.addAuthenticator(page, auth.cdp, { transport: 'usb' });
    await auth.setPresence(false);
    let switched = false;
    await page.route('**/auth/action/init', async (route) => {
      if (!switched) {
        switched = true;
        assert.equal((await second.credentials()).length, 1, 'the second authenticator made the passkey');
        await second.remove();
        await auth.setPresence(true);
      }
      await route.continue();
    });
    try {
      const f = region('Credentials');
      await f.getByLabel('New passkey name').fill('Phone');
      await f.getByRole('button', { name: 'Add a passkey' }).click();
      await outcome(/Passkey Phone added/);
    } finally {
      await page.unroute('**/auth/action/init');
      if (!switched) {
        await second.remove().catch(() => {});
        await auth.setPresence(true);
      }
    }
    assert.match(await row('creds-table', 'Phone').textContent(), /Passkey.*Active/);
    // With two active passkeys, either may now be deactivated.
    assert.equal(await row('creds-table', 'Phone').getByRole('button', { name: 'Deactivate credential Phone' }).count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Deactivate credential Passkey' }).count(), 1);
  });

  step('creates a personal access token: token, credId and key shown once; the token works', ['loggedIn'], async () => {
    const f = region('Personal access tokens');
    await f.getByLabel('Token name').fill('ci-token');
    await f.getByLabel('Valid for (days)').fill('7');
    await f.getByRole('button', { name: 'Create token' }).click();
    await outcome(/Token ci-token created/);
    const secret = await secretValues();
    s.pat = secret['Access token'];
    assert.equal(s.pat.split('.').length, 3, 'PAT is a JWT');
    assert.match(secret['Private key of the token (PKCS#8 PEM)'], /BEGIN PRIVATE KEY/);
    const r = await api('GET', `/auth/users/${s.boot.userId}`, s.pat);
    assert.equal(r.status, 200, `GET user with the new PAT: ${r.text}`);
    await page.screenshot({ path: path.join(h.OUT_DIR, 'page-token-shown-once.png'), fullPage: true });
    await dismissSecret();
  });

  step('lists the token after a reload, without showing it again', ['pat'], async () => {
    await page.reload();
    await outcome(/Logged in as/);
    await row('pats-table', 'ci-token').waitFor();
    assert.match(await row('pats-table', 'ci-token').textContent(), /to-.*Active/);
    assert.equal(await page.locator('#secret').isHidden(), true);
    assert.equal((await page.content()).includes(s.pat), false, 'the token is not in the page any more');
  });

  step('revokes the token (passkey-signed); it stops working', ['pat'], async () => {
    await page.getByRole('button', { name: 'Revoke token ci-token' }).click();
    await outcome(/Token ci-token revoked/);
    const r = await api('GET', `/auth/users/${s.boot.userId}`, s.pat);
    assert.equal(r.status, 401, `revoked PAT: ${r.text}`);
    const rowCount = await row('pats-table', 'ci-token').count();
    if (rowCount) assert.match(await row('pats-table', 'ci-token').textContent(), /Inactive/);
  });

  step('creates a service account: its token is shown once and works', ['loggedIn'], async () => {
    const f = region('Service accounts');
    await f.getByLabel('Service account name').fill('robot');
    await f.getByRole('button', { name: 'Create service account' }).click();
    await outcome(/Service account robot created/);
    const secret = await secretValues();
    s.saToken = secret['Access token'];
    assert.equal(s.saToken.split('.').length, 3, 'service-account token is a JWT');
    const r = await api('GET', '/auth/credentials', s.saToken);
    assert.notEqual(r.status, 401, `the new service-account token authenticates: ${r.status} ${r.text}`);
    await dismissSecret();
    await row('sas-table', 'robot').waitFor();
    assert.match(await row('sas-table', 'robot').textContent(), /us-.*Active/);
  });

  step('deactivates the service account (passkey-signed); its token stops working', ['saToken'], async () => {
    await page.getByRole('button', { name: 'Deactivate service account robot' }).click();
    await outcome(/Service account robot deactivated/);
    assert.match(await row('sas-table', 'robot').textContent(), /Inactive/);
    const r = await api('GET', '/auth/credentials', s.saToken);
    assert.equal(r.status, 401, `deactivated service account: ${r.text}`);
    await page.screenshot({ path: path.join(h.OUT_DIR, 'page-after-changes.png'), fullPage: true });
  });

  step('every change the page made was user-action signed', ['loggedIn'], async () => {
    const writes = rec.log.filter((x) => x.method !== 'GET' && x.method !== 'OPTIONS' && !/^\/auth\/(action|login|registration|logout|credentials\/init)\b/.test(x.path));
    assert.ok(writes.length >= 6, `writes seen: ${writes.map((x) => x.path).join(', ')}`);
    for (const x of writes) assert.ok(x.userAction, `${x.method} ${x.path} carried X-DFNS-USERACTION`);
  });

  step('keyboard only: Tab reaches the log-out button and the forms have labels', ['loggedIn'], async () => {
    const unlabeled = await page.evaluate(() =>
      Array.from(document.querySelectorAll('input, textarea')).filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id || e.name),
    );
    assert.deepEqual(unlabeled, []);
    await page.locator('body').focus();
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'logout');
    }
    assert.ok(reached, 'Tab reaches Log out');
  });

  // RFC 9421 with a passkey (docs/httpsig.md "Passkeys"): the page's own JS builds the signature
  // base, has the virtual authenticator sign its SHA-256 as the WebAuthn challenge and sends one
  // request; signet accepts it once. After the check above: this write carries no user action.
  step('the page signs a request itself with RFC 9421 and the passkey; a replay is refused', ['loggedIn'], async () => {
    const creds = await api('GET', '/auth/credentials', s.token);
    assert.equal(creds.status, 200, creds.text);
    const pk = creds.body.items.filter((c) => c.kind === 'Fido2' && c.isActive).sort((a, b) => a.dateCreated.localeCompare(b.dateCreated))[0];
    assert.ok(pk, `an active passkey: ${creds.text}`);
    const r = await page.evaluate(async ({ token, credId }) => {
      const enc = new TextEncoder();
      const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
      const b64u = (buf) => b64(buf).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      const raw = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
      const url = `${location.origin}/permissions`;
      const body = JSON.stringify({ name: `httpsig-${Date.now()}`, operations: ['Auth:Users:Read'] });
      const digest = `sha-256=:${b64(await crypto.subtle.digest('SHA-256', enc.encode(body)))}:`;
      const nonce = b64u(crypto.getRandomValues(new Uint8Array(18)));
      const params = `("@method" "@target-uri" "authorization" "content-digest");created=${Math.floor(Date.now() / 1000)};nonce="${nonce}";keyid="${credId}";alg="webauthn-es256"`;
      const base = [`"@method": POST`, `"@target-uri": ${url}`, `"authorization": Bearer ${token}`, `"content-digest": ${digest}`, `"@signature-params": ${params}`].join('\n');
      const challenge = await crypto.subtle.digest('SHA-256', enc.encode(base));
      const a = await navigator.credentials.get({
        publicKey: { challenge, rpId: location.hostname, allowCredentials: [{ type: 'public-key', id: raw(credId) }], userVerification: 'required' },
      });
      const headers = {
        Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Digest': digest,
        'Signature-Input': `sig1=${params}`, Signature: `sig1=:${b64(a.response.signature)}:`,
        'WebAuthn-Authenticator-Data': `:${b64(a.response.authenticatorData)}:`, 'WebAuthn-Client-Data': `:${b64(a.response.clientDataJSON)}:`,
      };
      const first = await fetch(url, { method: 'POST', headers, body });
      const firstBody = await first.text();
      const replay = await fetch(url, { method: 'POST', headers, body });
      return { first: first.status, firstBody, replay: replay.status };
    }, { token: s.token, credId: pk.credentialId });
    assert.equal(r.first, 200, `signed request: ${r.firstBody}`);
    assert.ok(JSON.parse(r.firstBody).id, r.firstBody);
    assert.equal(r.replay, 401, 'the replay');
  });
});
